"""Stand-ins with the shapes of the marker types of django-syzygy and django-safemigrate.

django_migrate recognises markers by attribute name and value name, never by importing either
package, so these copies of their shapes are what a real project's migrations look like to it:

* syzygy: ``stage = Stage.POST_DEPLOY`` (an Enum; POST_DEPLOY's value is "post_deployment");
* safemigrate 2.x-4.x: ``safe = SafeEnum.after_deploy`` (an Enum whose member names are the values);
* safemigrate 5.x: ``safe = Safe.after_deploy()`` (a dataclass with a ``when`` Enum).
"""

from dataclasses import dataclass
from enum import Enum


class Stage(Enum):
    PRE_DEPLOY = "pre_deploy"
    POST_DEPLOY = "post_deployment"


class SafeEnum(Enum):
    before_deploy = "before_deploy"
    after_deploy = "after_deploy"
    always = "always"


class When(Enum):
    ALWAYS = "always"
    BEFORE_DEPLOY = "before_deploy"
    AFTER_DEPLOY = "after_deploy"


@dataclass
class Safe:
    when: When

    @classmethod
    def always(cls):
        return cls(when=When.ALWAYS)

    @classmethod
    def before_deploy(cls):
        return cls(when=When.BEFORE_DEPLOY)

    @classmethod
    def after_deploy(cls):
        return cls(when=When.AFTER_DEPLOY)

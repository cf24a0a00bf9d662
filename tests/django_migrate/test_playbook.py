"""The module as a real Ansible task: ansible-playbook on localhost with the release interpreter."""

from .helpers import columns, nullable


def test_check_pre_post_and_check_mode_through_ansible(cases):
    apps = ["additive", "destructive"]
    cases.baseline(apps, "additive:0001_initial", "destructive:0001_initial")
    before = cases.snap()

    check = cases.playbook(apps, "check")
    assert check.rc == 0, check.result
    assert check.result["changed"] is False
    assert check.db()["plan"]["pre"] == ["additive.0002_grow", "additive.0003_fill"]
    assert len(check.db()["deferred"]) == 3

    predicted = cases.playbook(apps, "pre", check=True)
    assert predicted.rc == 0, predicted.result
    assert predicted.result["changed"] is True
    assert cases.snap() == before

    pre = cases.playbook(apps, "pre")
    assert pre.rc == 0, pre.result
    assert pre.result["changed"] is True
    assert pre.db()["applied"] == ["additive.0002_grow", "additive.0003_fill"]
    assert nullable(cases.snap(), "destructive_gadget", "legacy")

    again = cases.playbook(apps, "pre")
    assert again.rc == 0
    assert again.result["changed"] is False

    predicted_post = cases.playbook(apps, "post", check=True)
    assert predicted_post.result["changed"] is True
    assert "legacy" in columns(cases.snap(), "destructive_gadget")

    post = cases.playbook(apps, "post")
    assert post.rc == 0, post.result
    assert len(post.db()["applied"]) == 3
    assert columns(cases.snap(), "destructive_gadget") == {"id", "name", "color"}
    print(f"\nansible-playbook: check, pre --check, pre, pre again, post --check, post: {post.result['msg']}")


def test_a_refusal_fails_the_task(cases):
    apps = ["ref_rename_column"]
    cases.baseline(apps, "ref_rename_column:0001_initial")

    run = cases.playbook(apps, "pre")

    assert run.rc != 0
    assert run.result["failed"] is True
    assert "[DM002]" in run.result["msg"]
    assert "ref_rename_column.0002_rename_title_heading" in run.result["msg"]

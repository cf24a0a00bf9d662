"""Check an unpacked release artifact before the image installs it (the image's build stage).

    python3 check_release.py <unpacked artifact> <expected version>

The manifest must name the version the image is labelled with and Python 3.11 (Debian 12's), and
every wheel of the wheelhouse must have the sha256 the manifest records, with none missing or extra.
Standard library only: it runs with Debian's python3 before any venv exists.
"""

import hashlib
import json
import sys
from pathlib import Path

PYTHON = "3.11"
# What pip installs: the builder's flat, pinned list (any source layout), or an older artifact's
# requirements.txt.
REQUIREMENTS = (".djangoops-requirements.txt", "requirements.txt")


def problems(root: Path, version: str) -> list[str]:
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"manifest.json cannot be read: {exc}"]
    found = []
    if manifest.get("version") != version:
        found.append(f"the manifest's version is {manifest.get('version')!r}, the image was asked for {version!r}")
    if PYTHON not in manifest.get("pythons", []):
        found.append(f"the wheelhouse is for Pythons {manifest.get('pythons')}, the image runs Python {PYTHON}")
    if not any((root / "src" / name).is_file() for name in REQUIREMENTS):
        found.append(f"the artifact has no requirements file (src/{' or src/'.join(REQUIREMENTS)})")
    expected = manifest.get("wheels", {})
    present = {path.name: path for path in (root / "wheels").glob("*.whl")}
    for name in sorted(set(expected) - set(present)):
        found.append(f"wheels/{name} is in the manifest but not in the artifact")
    for name in sorted(set(present) - set(expected)):
        found.append(f"wheels/{name} is in the artifact but not in the manifest")
    for name in sorted(set(expected) & set(present)):
        digest = hashlib.sha256(present[name].read_bytes()).hexdigest()
        if digest != expected[name]:
            found.append(f"wheels/{name} has sha256 {digest}, the manifest says {expected[name]}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    found = problems(Path(argv[1]), argv[2])
    for problem in found:
        print(f"release artifact: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

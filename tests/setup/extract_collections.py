# Copyright: mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Extract single collections from the `ansible` community package wheel.

Galaxy is unreachable from the project's machines, but PyPI is, and the
`ansible` package bundles the community collections. This pulls only the
named ones (e.g. community.crypto) out of the downloaded wheel:

    python extract_collections.py WHEEL DEST community.crypto [...]

DEST gets DEST/ansible_collections/<namespace>/<name>/, replaced whole, so
DEST can go straight onto ANSIBLE_COLLECTIONS_PATH.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import sys
import zipfile


def extract(wheel: pathlib.Path, dest: pathlib.Path, fqcn: str) -> str:
    """Extract one collection; return its version from MANIFEST.json."""
    namespace, name = fqcn.split('.')
    prefix = 'ansible_collections/%s/%s/' % (namespace, name)
    target = dest / 'ansible_collections' / namespace / name
    if target.exists():
        shutil.rmtree(target)
    with zipfile.ZipFile(wheel) as archive:
        members = [member for member in archive.namelist() if member.startswith(prefix)]
        if not members:
            raise SystemExit('extract_collections: %s is not in %s' % (fqcn, wheel))
        archive.extractall(dest, members)
    manifest = json.loads((target / 'MANIFEST.json').read_text(encoding='utf-8'))
    return manifest['collection_info']['version']


def main() -> None:
    """Command line entry point."""
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    wheel, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    for fqcn in sys.argv[3:]:
        version = extract(wheel, dest, fqcn)
        print('extracted %s %s into %s' % (fqcn, version, dest))


if __name__ == '__main__':
    main()

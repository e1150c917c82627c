# Copyright: mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Do the declared Python requirements match what the plugins import?

Run by tests/deps/run.sh with the interpreter of a venv that holds only
ansible-core and requirements.txt:

    python check_imports.py COLLECTIONS_ROOT

COLLECTIONS_ROOT is the directory holding ansible_collections/mailsec/mta_sts.
It checks that

- every plugin (modules, module_utils, filters, lookups, doc fragments)
  imports here;
- every optional import that a plugin guards (the HAS_* flags) is there
  when the package is a controller requirement, every package of
  requirements.txt is imported by some plugin, and every third-party
  import of the plugins is declared: in requirements.txt (controller) or in
  a module's ``requirements`` as needed "on the managed host";
- the ``requirements`` of every plugin's documentation give the same
  minimum versions as requirements.txt.

Standard library and ansible-core only: it runs inside that venv.
"""

from __future__ import annotations

import ast
import importlib
import pathlib
import re
import sys
import traceback

import yaml

# Top-level import name -> distribution name on PyPI.
DISTRIBUTIONS = {'dns': 'dnspython', 'cryptography': 'cryptography'}
# HAS_* flag -> distribution whose import it guards.
FLAGS = {'HAS_DNSPYTHON': 'dnspython', 'HAS_CRYPTOGRAPHY': 'cryptography'}
PLUGIN_DIRS = ('modules', 'module_utils', 'filter', 'lookup', 'doc_fragments')
ALWAYS_THERE = {'ansible', 'ansible_collections', '__future__'}
REQUIREMENT_RE = re.compile(r'^\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)')


def declared_controller(root):
    """{distribution: minimum version} from requirements.txt."""
    declared = {}
    for line in (root / 'requirements.txt').read_text(encoding='utf-8').splitlines():
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        match = REQUIREMENT_RE.match(line)
        if not match:
            raise SystemExit('requirements.txt: give every line as "name>=version,<next": %r' % line)
        declared[match.group(1).lower()] = match.group(2)
    return declared


def plugin_files(root):
    for kind in PLUGIN_DIRS:
        for path in sorted((root / 'plugins' / kind).rglob('*.py')):
            if path.name != '__init__.py' or kind == 'module_utils':
                yield path


def module_name(root, path):
    parts = path.relative_to(root).with_suffix('').parts
    if parts[-1] == '__init__':
        parts = parts[:-1]
    return '.'.join(('ansible_collections', 'mailsec', 'mta_sts') + parts)


def third_party_imports(path):
    tree = ast.parse(path.read_text(encoding='utf-8'))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split('.')[0])
    return {name for name in names if name not in sys.stdlib_module_names and name not in ALWAYS_THERE}


def documented_requirements(path):
    """The ``requirements`` list of a plugin's DOCUMENTATION (or [])."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == 'DOCUMENTATION' for t in node.targets):
            doc = yaml.safe_load(node.value.value) or {}
            return list(doc.get('requirements') or [])
    return []


def main(argv):
    collections_root = pathlib.Path(argv[1]).resolve()
    root = collections_root / 'ansible_collections' / 'mailsec' / 'mta_sts'
    sys.path.insert(0, str(collections_root))
    controller = declared_controller(root)
    managed_host = {}
    problems = []

    for path in plugin_files(root):
        relative = path.relative_to(root)
        for line in documented_requirements(path):
            if not isinstance(line, str):
                problems.append('%s: a requirement is not a sentence (a colon in it?): %r' % (relative, line))
                continue
            match = REQUIREMENT_RE.match(line)
            if not match:
                continue
            name, version = match.group(1).lower(), match.group(2)
            if name in controller:
                if version != controller[name]:
                    problems.append('%s documents %s >= %s, requirements.txt says >= %s'
                                    % (relative, name, version, controller[name]))
            elif 'managed host' in line:
                managed_host[name] = version
            else:
                problems.append('%s documents %r, which is neither in requirements.txt nor said to be '
                                'needed on the managed host' % (relative, line))

    imported = 0
    used = set()
    for path in plugin_files(root):
        relative = path.relative_to(root)
        for name in sorted(third_party_imports(path)):
            distribution = DISTRIBUTIONS.get(name)
            used.add(distribution)
            if distribution is None:
                problems.append('%s imports %s, which tests/deps/check_imports.py does not know: '
                                'declare it and add it to DISTRIBUTIONS' % (relative, name))
            elif distribution not in controller and distribution not in managed_host:
                problems.append('%s imports %s (%s), declared nowhere' % (relative, name, distribution))
        try:
            module = importlib.import_module(module_name(root, path))
        except Exception:  # pylint: disable=broad-exception-caught
            problems.append('%s does not import with only the declared requirements:\n%s'
                            % (relative, traceback.format_exc(limit=3)))
            continue
        imported += 1
        for flag, distribution in FLAGS.items():
            if not hasattr(module, flag):
                continue
            present = getattr(module, flag)
            # (cryptography comes with ansible-core itself, so a flag for a
            # managed-host requirement may well be True here.)
            if distribution in controller and not present:
                problems.append('%s: %s is False although %s is in requirements.txt' % (relative, flag, distribution))
        for name in dir(module):
            if name.startswith('HAS_') and name not in FLAGS:
                problems.append('%s: unknown flag %s: add it to FLAGS in tests/deps/check_imports.py' % (relative, name))

    for distribution in sorted(set(controller) - used):
        problems.append('requirements.txt lists %s, which no plugin imports' % distribution)
    print('controller requirements (requirements.txt): %s' % ', '.join('%s>=%s' % item for item in sorted(controller.items())))
    print('managed-host requirements (module docs): %s' % (', '.join('%s>=%s' % item for item in sorted(managed_host.items())) or 'none'))
    print('%d plugin files imported with only ansible-core and requirements.txt' % imported)
    for problem in problems:
        print('PROBLEM: %s' % problem)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

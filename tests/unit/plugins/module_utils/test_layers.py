# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The layers of plugins/module_utils (docs/architecture.md): each one
imports only itself and the layers below it, and the two bottom layers,
which run on managed hosts, import only the standard library."""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[4]
MODULE_UTILS = ROOT / 'plugins' / 'module_utils'
PREFIX = 'ansible_collections.mailsec.mta_sts.plugins.module_utils.'
# Bottom first; the order of docs/architecture.md.
LAYERS = ('common', 'model', 'dns', 'web', 'smtp', 'verification')
STANDARD_LIBRARY_ONLY = ('common', 'model')


def _imports(path):
    tree = ast.parse(path.read_text(encoding='utf-8'))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def _files():
    return sorted(path for path in MODULE_UTILS.rglob('*.py') if path.name != '__init__.py')


def test_every_module_utils_file_is_in_a_layer():
    assert _files()
    for path in _files():
        relative = path.relative_to(MODULE_UTILS)
        assert len(relative.parts) == 2 and relative.parts[0] in LAYERS, (
            '%s: module_utils files live in one of %s (docs/architecture.md)' % (relative, ', '.join(LAYERS)))
        assert relative.name.startswith('_'), '%s: private module_utils files start with "_"' % relative


@pytest.mark.parametrize('path', _files(), ids=lambda path: str(path.relative_to(MODULE_UTILS)))
def test_a_layer_imports_only_itself_and_the_layers_below(path):
    layer = path.relative_to(MODULE_UTILS).parts[0]
    allowed = LAYERS[:LAYERS.index(layer) + 1]
    for name in _imports(path):
        if name.startswith(PREFIX):
            target = name[len(PREFIX):].split('.')[0]
            assert target in allowed, '%s (layer %s) imports %s, a layer above it' % (path.name, layer, name)
        elif layer in STANDARD_LIBRARY_ONLY and name != '__future__':
            top = name.split('.')[0]
            assert top in sys.stdlib_module_names, (
                '%s (layer %s) imports %s: this layer runs on managed hosts, standard library only'
                % (path.name, layer, name))

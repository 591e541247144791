"""The environment every test run starts from, loaded as a plugin (`-p tests.environment`
in pyproject's addopts) so that it runs before pytest-django imports the settings; a
conftest.py is loaded after them, too late for anything config/settings.py reads.

DEBUG defaults to off (production); the tests run as the demo does, on its development
keys, unless the caller's environment says otherwise.
"""

import os

os.environ.setdefault("DEBUG", "1")

"""What more than one test folder needs: the run's environment, ports, polling, a recording tab,
a private Redis, the site build, and what the xdist workers of a run share.

Fixtures stay in the conftest.py files; these are plain helpers, imported
absolutely (``from tests.support.polling import eventually``).
"""

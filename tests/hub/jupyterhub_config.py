# JupyterHub config for the local hub used by the tests, the demo and the benchmarks, on Debian 12's
# JupyterHub 3.0 and on 5.2 in a Debian sid root alike (tests/hub/local-hub.sh, HUB_STRESS_TEST_HUB).
# Everything is set through environment variables so one file serves every case:
#   HST_PORT         hub port on 127.0.0.1 (required)
#   HST_TOKEN        API token of the "stress-tester" service (required)
#   HST_STATE_DIR    folder for the SQLite database and cookie secret (required)
#   HST_SPAWNER      mocksu (default) | shared | singleuser | failing
#   HST_SPAWN_LIMIT  concurrent_spawn_limit (default 100, the hub's own default)
#   HST_FAIL_EVERY   with "failing": users whose number N has N % HST_FAIL_EVERY == 0 fail (default 5)
#   HST_DUMMY_PASSWORD  when set, the one password the dummy authenticator accepts (default: any)
import os
import sys

from tornado import web

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

port = int(os.environ["HST_PORT"])
state_dir = os.environ["HST_STATE_DIR"]
spawner_kind = os.environ.get("HST_SPAWNER", "mocksu")

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = port + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + 2}"
c.JupyterHub.db_url = f"sqlite:///{os.path.join(state_dir, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(state_dir, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(state_dir, "jupyterhub.pid")
c.JupyterHub.authenticator_class = "dummy"
if os.environ.get("HST_DUMMY_PASSWORD"):
    c.DummyAuthenticator.password = os.environ["HST_DUMMY_PASSWORD"]
import jupyterhub  # noqa: E402

if int(jupyterhub.__version__.split(".")[0]) >= 5:
    c.Authenticator.allow_all = True  # 5.0 lets no one in by default, the dummy authenticator included
c.JupyterHub.concurrent_spawn_limit = int(os.environ.get("HST_SPAWN_LIMIT", "100"))
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.Spawner.consecutive_failure_limit = 0
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60

c.JupyterHub.services = [{"name": "stress-tester", "api_token": os.environ["HST_TOKEN"]}]
c.JupyterHub.load_roles = [
    {
        "name": "stress-tester-role",
        "scopes": ["admin:users", "admin:servers", "tokens", "read:metrics", "read:hub"],
        "services": ["stress-tester"],
    }
]
if os.environ.get("HST_LIMITED_TOKEN"):
    # a token that may list users but not stop servers or delete users (tests of missing scopes)
    c.JupyterHub.services.append({"name": "read-only", "api_token": os.environ["HST_LIMITED_TOKEN"]})
    c.JupyterHub.load_roles.append({"name": "read-only-role", "scopes": ["list:users", "read:users"], "services": ["read-only"]})

from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner, Spawner  # noqa: E402

c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(state_dir, "home", "{username}")


class HomeMakingSpawner(SimpleLocalProcessSpawner):
    """SimpleLocalProcessSpawner that creates the home folder it changes into."""

    async def start(self):
        os.makedirs(self.home_dir, exist_ok=True)
        return await super().start()


class _EchoHandler(web.RequestHandler):
    def get(self, *args):
        self.write("ok")


class SharedServerSpawner(Spawner):
    """Points every user at one tiny HTTP server inside the hub process: thousands of users for free."""

    _shared_port = None

    async def start(self):
        cls = SharedServerSpawner
        if cls._shared_port is None:
            from tornado.httpserver import HTTPServer
            from tornado.netutil import bind_sockets

            sockets = bind_sockets(0, "127.0.0.1")
            HTTPServer(web.Application([(r"(.*)", _EchoHandler)])).add_sockets(sockets)
            cls._shared_port = sockets[0].getsockname()[1]
        self._running = True
        return ("127.0.0.1", cls._shared_port)

    async def poll(self):
        return None if getattr(self, "_running", False) else 0

    async def stop(self, now=False):
        self._running = False

    def get_state(self):
        return {}


class FailingSpawner(HomeMakingSpawner):
    """A real per-user process, except for users whose number is a multiple of HST_FAIL_EVERY."""

    async def start(self):
        every = int(os.environ.get("HST_FAIL_EVERY", "5"))
        suffix = self.user.name.rsplit("-", 1)[-1]
        if suffix.isdigit() and int(suffix) % every == 0:
            raise RuntimeError(f"test spawner refuses {self.user.name} on purpose")
        return await super().start()


if spawner_kind == "shared":
    c.JupyterHub.spawner_class = SharedServerSpawner
elif spawner_kind == "singleuser":
    c.JupyterHub.spawner_class = HomeMakingSpawner
    c.Spawner.cmd = ["/usr/bin/jupyterhub-singleuser"]
    c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
    c.Spawner.default_url = "/tree"  # the classic notebook (3.0) or Notebook 7 (5.2), no JupyterLab
elif spawner_kind in ("mocksu", "failing"):
    c.JupyterHub.spawner_class = FailingSpawner if spawner_kind == "failing" else HomeMakingSpawner
    c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.tests.mocksu"]
else:
    raise ValueError(f"HST_SPAWNER={spawner_kind!r}: expected mocksu, shared, singleuser or failing")

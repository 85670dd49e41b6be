#!/usr/bin/python3
"""A loopback fake of a JupyterHub and its users' servers, for what a real hub can't do on demand.

It speaks just enough of the hub's REST API (users, tokens, servers, the progress stream), the
login form, the OAuth hop into /user/NAME/, a user's server (status, kernels) and the kernel
WebSocket for `hub-stress-test journey`, in one Tornado process (Debian's python3-tornado, which
JupyterHub already needs). Faults are switched on by options:

  --version V          what GET /hub/api/ says (default 4.1.0)
  --xsrf               the login form insists on _xsrf (cookie and field), as JupyterHub 4.x does
  --spawn-delay S      seconds from the start request to the ready event (default 0.2)
  --fail-every N       users whose number is a multiple of N: the spawn fails (progress "failed")
  --proxy-503 S        /user/NAME/... answers 503 for S seconds after ready (no route yet)
  --kernel silent      the kernel never answers an execute_request
  --kernel drop        the kernel WebSocket's TCP connection is dropped mid-cell
  --kernel wrong       the cell's output is "41"
  --kernel info-first  as a kernel behind jupyter-server 2 can be (seen on JupyterHub 5.2.1 with
                       Notebook 7): every message sent on a new WebSocket before the kernel's
                       kernel_info_reply is dropped unanswered; the reply comes --kernel-ready S
                       (default 0.3) after the WebSocket opened, to a kernel_info_request
  --server-root open   as a jupyter-server 2 without a front end (Debian trixie's 5.2.1):
                       GET /user/NAME/ answers 200 and sets _xsrf without asking who the caller
                       is; its API still refuses a caller it does not know (403)
  --spawn-limit K      a start request while K spawns are pending is answered 429 (Retry-After: 1),
                       as the hub's concurrent_spawn_limit does. Held rate: with --spawn-delay D,
                       about 60*K/D starts a minute; beyond that students wait on 429s
  --slow-above K       a start request that arrives while K or more other spawns are pending takes
                       --slow-delay S (default 30) seconds more to become ready, on top of
                       --spawn-delay. Held rate: with --spawn-delay D, uniform arrivals at R a minute
                       keep about R*D/60 spawns pending, so R <= 60*K/D a minute; beyond that the
                       students' spawns (the ready step) take S longer
  --starts-per-minute K  start requests beyond K in the last 60 seconds (a sliding window of the
                       starts it let through) are answered 202 but the spawn fails (progress
                       "failed": "Spawn failed: the fake hub takes at most K starts a minute").
                       Held rate: K starts a minute
  --create-limit N     once N users were created in all, creating more is answered 503 (a hub that
                       went away mid-run, as far as new users go)
  --echo               refusals repeat what was sent: the login's form body, the kernel start's
                       Authorization header (a hub or proxy that echoes secrets into its errors)
  --login-delay S      GET /hub/login and POST /hub/login each take S seconds to answer
  --cell-delay S       a cell's output comes S seconds after its busy status
  --faults LIST        one fault per user, by the user's number N: LIST's (N-1) % len item, of
                       ok           nothing wrong
                       login-form   POST /hub/login answers 200 with the form again and "Invalid
                                    username or password" (JupyterHub 3.0's refusal)
                       login-back   POST /hub/login redirects to /hub/login (sent back to it)
                       login-403    POST /hub/login answers 403 (as later JupyterHubs may)
                       spawn-403    the start request is answered 403 "the fake hub refuses to start NAME"
                       spawn-fail   the spawn fails (progress "failed": "fake spawner refused NAME")
                       spawn-hang   the spawn stays pending for ever
                       kernel-500   POST /user/NAME/api/kernels answers 500 "no kernel for NAME"
                       ws-403       the kernel WebSocket's handshake is answered 403
                       raise        each cell raises ZeroDivisionError: division by zero
                       silent, drop, wrong   as --kernel
                       delete-500   DELETE of its kernel answers 500 "kernel busy" (the kernel stays)
  --restart-404 S      the first start request begins S seconds in which every route (the hub's
                       health check and metrics included, the users' servers not) is answered 404,
                       as a proxy answers for a hub that restarts behind it. GET /_restart?seconds=S
                       begins such S seconds at any time
  --metrics 404        GET /hub/metrics is answered 404 while the hub is healthy (a hub that serves
                       none); otherwise it is a little Prometheus text

GET /hub/health answers 200 (404 while restarting). A start request for a user that does not exist
is answered 404, as the hub does.

It prints "PORT <n>" on stdout once it listens on 127.0.0.1. GET /_state answers what a test
checks afterwards: users left, servers running, kernels started/deleted, cells run, and for a
capacity run: max_pending (the most spawns pending at once), starts (start requests answered 202),
slowed (spawns given --slow-delay), start_failures_by_rate (spawns failed by --starts-per-minute);
restart_404s (answers given while restarting), metrics_scrapes (metrics answered 200),
token_expires_in (the expires_in of every token asked for, in order).
A server is stopped (DELETE /hub/api/users/NAME/server) by the admin or by the user's own token.
"""
import argparse
import asyncio
import collections
import json
import re
import secrets
import socket
import sys
import time
import uuid

from tornado import httpserver, web, websocket

p = argparse.ArgumentParser()
p.add_argument("--version", default="4.1.0")
p.add_argument("--xsrf", action="store_true")
p.add_argument("--spawn-delay", type=float, default=0.2)
p.add_argument("--fail-every", type=int, default=0)
p.add_argument("--proxy-503", type=float, default=0.0)
p.add_argument("--kernel", choices=["ok", "silent", "drop", "wrong", "info-first"], default="ok")
p.add_argument("--kernel-ready", type=float, default=0.3)
p.add_argument("--server-root", choices=["login", "open"], default="login")
p.add_argument("--token", default="admin-token")
p.add_argument("--spawn-limit", type=int, default=0)
p.add_argument("--slow-above", type=int, default=0)
p.add_argument("--slow-delay", type=float, default=30.0)
p.add_argument("--starts-per-minute", type=int, default=0)
p.add_argument("--create-limit", type=int, default=0)
p.add_argument("--echo", action="store_true")
p.add_argument("--login-delay", type=float, default=0.0)
p.add_argument("--cell-delay", type=float, default=0.0)
p.add_argument("--faults", default="ok")
p.add_argument("--restart-404", type=float, default=0.0)
p.add_argument("--metrics", choices=["ok", "404"], default="ok")
args = p.parse_args()
outage = {"until": 0.0, "begun": False}  # --restart-404 and /_restart: every route 404 until then
STARTED_AT = time.time()

users = {}  # name -> {"ready_at": t or None, "failed": bool, "started": t}
tokens = {args.token: None}  # token -> user name (None: the admin)
state = {"created": 0, "answers_429": 0, "requests": 0, "kernels_started": 0, "kernels_deleted": 0, "cells": 0, "logins": 0, "ws_connections": 0, "xsrf_refused": 0,
         "ignored_before_info": 0, "kernel_info_replies": 0, "server_api_refused": 0,
         "max_pending": 0, "starts": 0, "slowed": 0, "start_failures_by_rate": 0,
         "restart_404s": 0, "metrics_scrapes": 0, "token_expires_in": [], "kernel_deletes_refused": 0}
taken = collections.deque()  # --starts-per-minute: times of the starts let through in the last minute
kernels = {}  # id -> user
HUB_XSRF = "2|hubxsrf|" + secrets.token_hex(4)


def number(name):
    m = re.search(r"-(\d+)$", name)
    return int(m.group(1)) if m else 0


FAULTS = args.faults.split(",")
KNOWN_FAULTS = {"ok", "login-form", "login-back", "login-403", "spawn-403", "spawn-fail", "spawn-hang", "kernel-500",
                "ws-403", "raise", "silent", "drop", "wrong", "delete-500"}
if set(FAULTS) - KNOWN_FAULTS:
    p.error("unknown fault in --faults: " + ", ".join(sorted(set(FAULTS) - KNOWN_FAULTS)))


def fault(name):
    """--faults: this user's fault ("ok" for none)."""
    n = number(name)
    return FAULTS[(n - 1) % len(FAULTS)] if n > 0 else "ok"


def kernel_mode(name):
    f = fault(name)
    return f if f in ("raise", "silent", "drop", "wrong") else args.kernel


def user_model(name):
    u = users[name]
    servers = {}
    if u.get("started") is not None and not u.get("failed"):
        ready = u["ready_at"] is not None and time.monotonic() >= u["ready_at"]
        servers[""] = {"ready": ready, "pending": None if ready else "spawn", "url": f"/user/{name}/"}
    return {"name": name, "kind": "user", "admin": False, "servers": servers, "pending": None}


class Base(web.RequestHandler):
    def check_xsrf_cookie(self):
        pass

    def prepare(self):
        state["requests"] += 1
        if time.monotonic() < outage["until"]:
            state["restart_404s"] += 1
            self.set_status(404)
            self.finish("404: Not Found (the hub behind this proxy is restarting)")

    def who(self):
        auth = self.request.headers.get("Authorization", "")
        if auth.startswith("token ") and auth[6:] in tokens:
            return ("token", tokens[auth[6:]])
        session = self.get_cookie("fake-hub-session")
        if session and session in users:
            return ("cookie", session)
        return None

    def admin(self):
        w = self.who()
        if not w or w[0] != "token" or w[1] is not None:
            raise web.HTTPError(403)

    def send_json(self, obj, status=200):
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(obj))


class Version(Base):
    def get(self):
        self.send_json({"version": args.version})


class Me(Base):
    def get(self):
        self.admin()
        self.send_json({"kind": "service", "name": "fake", "scopes": ["admin:users", "admin:servers", "tokens", "list:users",
                                                                       "read:servers", "servers", "delete:users", "read:users"]})


class Users(Base):
    def get(self):
        self.admin()
        items = [user_model(n) for n in sorted(users)]
        if "pagination" in self.request.headers.get("Accept", ""):
            self.send_json({"items": items, "_pagination": {"offset": 0, "limit": 200, "total": len(items), "next": None}})
        else:
            self.send_json(items)

    def post(self):
        self.admin()
        names = json.loads(self.request.body or b"{}").get("usernames", [])
        new = [n for n in names if n not in users]
        if args.create_limit > 0 and state["created"] + len(new) > args.create_limit:
            self.send_json({"status": 503, "message": f"the fake hub creates at most {args.create_limit} users"}, 503)
            return
        state["created"] += len(new)
        for n in new:
            users[n] = {"ready_at": None, "failed": False, "started": None}
        self.send_json([user_model(n) for n in new], 201 if new else 409)


class User(Base):
    def get(self, name):
        self.admin()
        if name not in users:
            raise web.HTTPError(404)
        self.send_json(user_model(name))

    def delete(self, name):
        self.admin()
        if name not in users:
            raise web.HTTPError(404)
        del users[name]
        self.set_status(204)
        self.finish()


def may_act_for(handler, name):
    w = handler.who()
    return w is not None and (w[1] is None or w[1] == name)


def pending_spawns(but=None):
    now = time.monotonic()
    return sum(1 for n, u in users.items()
               if n != but and u.get("started") is not None and not u.get("failed") and u["ready_at"] > now)


def throttled(handler):
    """--spawn-limit: the hub's concurrent_spawn_limit is full."""
    if args.spawn_limit <= 0 or pending_spawns() < args.spawn_limit:
        return False
    state["answers_429"] += 1
    handler.set_status(429)
    handler.set_header("Retry-After", "1")
    handler.finish(json.dumps({"status": 429, "message": "Too many users trying to log in right now. Try again in 1 second."}))
    return True


def rate_full(now):
    """--starts-per-minute: K starts were let through in the last 60 seconds."""
    if args.starts_per_minute <= 0:
        return False
    while taken and taken[0] <= now - 60:
        taken.popleft()
    if len(taken) >= args.starts_per_minute:
        return True
    taken.append(now)
    return False


def start(name):
    u = users[name]
    pending = pending_spawns(but=name)
    state["starts"] += 1
    u["started"] = time.monotonic()
    u["failed"] = (args.fail_every > 0 and number(name) % args.fail_every == 0) or fault(name) == "spawn-fail"
    u["fail_message"] = "fake spawner refused " + name
    if not u["failed"] and rate_full(u["started"]):
        u["failed"] = True
        u["fail_message"] = f"Spawn failed: the fake hub takes at most {args.starts_per_minute} starts a minute"
        state["start_failures_by_rate"] += 1
    u["ready_at"] = None if u["failed"] else u["started"] + args.spawn_delay
    if fault(name) == "spawn-hang" and not u["failed"]:
        u["ready_at"] = u["started"] + 7 * 86400
    if not u["failed"] and args.slow_above > 0 and pending >= args.slow_above:
        u["ready_at"] += args.slow_delay
        state["slowed"] += 1
    state["max_pending"] = max(state["max_pending"], pending_spawns())


class Server(Base):
    def post(self, name):
        if args.restart_404 > 0 and not outage["begun"]:
            outage["begun"] = True  # the hub restarts as the spawns begin
            outage["until"] = time.monotonic() + args.restart_404
            state["restart_404s"] += 1
            raise web.HTTPError(404)
        if not may_act_for(self, name):
            raise web.HTTPError(403)
        if name not in users:
            raise web.HTTPError(404)
        if throttled(self):
            return
        if fault(name) == "spawn-403":
            self.set_status(403)
            return self.finish("the fake hub refuses to start " + name)
        start(name)
        self.set_status(202)
        self.finish()

    def delete(self, name):
        if not may_act_for(self, name):
            raise web.HTTPError(403)
        if name in users:
            users[name]["started"] = None
            users[name]["ready_at"] = None
            users[name]["failed"] = False
        self.set_status(204)
        self.finish()


class Progress(Base):
    async def get(self, name):
        w = self.who()
        if w is not None and w[0] == "cookie" and args.version.startswith("3.") and not self.request.headers.get("Referer"):
            w = None
        if w is None or (w[1] is not None and w[1] != name) or name not in users:
            raise web.HTTPError(403)
        self.set_header("Content-Type", "text/event-stream")
        u = users[name]
        self.write('data: {"progress": 10, "message": "starting"}\n\n')
        await self.flush()
        if u["failed"]:
            await asyncio.sleep(args.spawn_delay)
            self.write(json.dumps({"progress": 100, "failed": True, "message": u.get("fail_message", "fake spawner refused " + name)}).join(["data: ", "\n\n"]))
            return self.finish()
        opened_started = u["started"] is not None
        while u["ready_at"] is None or time.monotonic() < u["ready_at"]:
            if opened_started and (u["started"] is None or users.get(name) is not u):  # stopped or deleted while pending
                self.write('data: {"progress": 100, "failed": true, "message": "server stopped"}\n\n')
                return self.finish()
            await asyncio.sleep(min(1.0, max(0.01, (u["ready_at"] or time.monotonic() + 0.05) - time.monotonic())))
        self.write(json.dumps({"progress": 100, "ready": True, "url": f"/user/{name}/"}).join(["data: ", "\n\n"]))
        self.finish()


class Tokens(Base):
    def post(self, name):
        self.admin()
        if name not in users:
            raise web.HTTPError(404)
        state["token_expires_in"].append(json.loads(self.request.body or b"{}").get("expires_in"))
        token = "tok-" + secrets.token_hex(8)
        tokens[token] = name
        self.send_json({"token": token, "user": name}, 201)


class Login(Base):
    async def get(self):
        await asyncio.sleep(args.login_delay)
        if args.xsrf:
            self.set_cookie("_xsrf", HUB_XSRF, path="/hub/")
        self.finish("<form method=post><input name=username><input name=password></form>")

    async def post(self):
        await asyncio.sleep(args.login_delay)
        if args.xsrf and (self.get_body_argument("_xsrf", "") != HUB_XSRF or self.get_cookie("_xsrf") != HUB_XSRF):
            state["xsrf_refused"] += 1
            raise web.HTTPError(403, "XSRF cookie does not match POST argument")
        name = self.get_body_argument("username", "")
        if args.echo:
            self.set_status(403)
            return self.finish("refused: " + self.request.body.decode())
        if name not in users or fault(name) == "login-form":
            return self.finish("<form method=post><p>Invalid username or password</p></form>")
        if fault(name) == "login-back":
            return self.redirect("/hub/login?next=%2Fhub%2Fspawn", status=302)
        if fault(name) == "login-403":
            self.set_status(403)
            return self.finish("Invalid username or password")
        state["logins"] += 1
        self.set_cookie("fake-hub-session", name, path="/hub/")
        self.redirect(self.get_argument("next", "/hub/"), status=302)


class Spawn(Base):
    def get(self):
        w = self.who()
        if not w or w[0] != "cookie":
            return self.redirect("/hub/login")
        if throttled(self):
            return
        start(w[1])
        self.redirect(f"/hub/spawn-pending/{w[1]}", status=302)


def routed(name):
    """The proxy has the user's route: the server is ready and --proxy-503 has passed."""
    u = users.get(name)
    if not u or u["ready_at"] is None:
        return False
    return time.monotonic() >= u["ready_at"] + args.proxy_503


class UserServer(Base):
    """/user/NAME/...: the user's server behind the proxy."""

    def owner_ok(self, name):
        auth = self.request.headers.get("Authorization", "")
        if auth.startswith("token ") and tokens.get(auth[6:]) == name:
            return True
        return self.get_cookie(f"fake-user-{name}") == "ok"

    def prepare(self):
        state["requests"] += 1  # no outage here: the users' servers are the proxy's routes, not the hub's
        name = self.path_args[0]
        if not routed(name):
            raise web.HTTPError(503, "no route")

    def get(self, name, rest):
        if rest == "oauth_callback":
            self.set_cookie(f"fake-user-{name}", "ok", path=f"/user/{name}/")
            return self.redirect(f"/user/{name}/tree", status=302)
        if args.server_root == "open" and rest == "":
            # no front end: the root page asks no one who they are
            self.set_cookie("_xsrf", "2|server|" + name, path=f"/user/{name}/")
            return self.finish("<html>jupyter-server</html>")
        if not self.owner_ok(name):
            if rest.startswith("api/"):
                state["server_api_refused"] += 1
                raise web.HTTPError(403)
            return self.redirect(f"/hub/api/oauth2/authorize?redirect_uri=/user/{name}/oauth_callback", status=302)
        self.set_cookie("_xsrf", "2|server|" + name, path=f"/user/{name}/")
        if rest == "api/status":
            return self.send_json({"started": "2026-01-01T00:00:00Z", "kernels": len(kernels)})
        self.finish("<html>tree</html>")

    def post(self, name, rest):
        if not self.owner_ok(name):
            state["server_api_refused"] += 1
            raise web.HTTPError(403)
        if not self.request.headers.get("Authorization") and self.request.headers.get("X-XSRFToken") != self.get_cookie("_xsrf"):
            state["xsrf_refused"] += 1
            raise web.HTTPError(403, "'_xsrf' argument missing from POST")
        if rest == "api/kernels" and args.echo:
            self.set_status(500)
            return self.finish("refused: Authorization: " + self.request.headers.get("Authorization", ""))
        if rest == "api/kernels" and fault(name) == "kernel-500":
            self.set_status(500)
            return self.finish("no kernel for " + name)
        if rest == "api/kernels":
            kid = str(uuid.uuid4())
            kernels[kid] = name
            state["kernels_started"] += 1
            return self.send_json({"id": kid, "name": "python3"}, 201)
        raise web.HTTPError(404)

    def delete(self, name, rest):
        if not self.owner_ok(name):
            raise web.HTTPError(403)
        if not self.request.headers.get("Authorization") and self.request.headers.get("X-XSRFToken") != self.get_cookie("_xsrf"):
            raise web.HTTPError(403)
        m = re.match(r"api/kernels/([^/]+)$", rest)
        if m and m.group(1) in kernels and fault(name) == "delete-500":
            state["kernel_deletes_refused"] += 1
            self.set_status(500)
            return self.finish("kernel busy")
        if m and m.group(1) in kernels:
            del kernels[m.group(1)]
            state["kernels_deleted"] += 1
            self.set_status(204)
            return self.finish()
        raise web.HTTPError(404)


class Authorize(Base):
    def get(self):
        if not self.who():
            return self.redirect("/hub/login")
        self.redirect(self.get_argument("redirect_uri") + "?code=fake", status=302)


class Channels(websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True

    async def get(self, name, kid):
        if fault(name) == "ws-403":
            self.set_status(403)
            return self.finish("the fake server refuses the kernel's WebSocket")
        return await super().get(name, kid)

    def open(self, name, kid):
        self.mode = kernel_mode(name)
        if kid not in kernels:
            self.close(1008, "no such kernel")
            return
        state["ws_connections"] += 1
        self.set_nodelay(True)
        self.ready_at = time.monotonic() + args.kernel_ready
        self.info_sent = args.kernel != "info-first"

    def reply(self, parent, channel, msg_type, content):
        self.write_message(json.dumps({"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type}, "parent_header": parent["header"],
                                       "metadata": {}, "content": content, "channel": channel}))

    async def on_message(self, message):
        msg = json.loads(message)
        msg_type = msg.get("header", {}).get("msg_type")
        if msg_type == "kernel_info_request":
            await asyncio.sleep(max(0.0, self.ready_at - time.monotonic()))
            self.reply(msg, "shell", "kernel_info_reply", {"status": "ok", "protocol_version": "5.3",
                                                           "implementation": "fake", "language_info": {"name": "python"}})
            state["kernel_info_replies"] += 1
            self.info_sent = True
            return
        if msg_type != "execute_request":
            return
        if not self.info_sent:
            state["ignored_before_info"] += 1  # lost, as the first cell on jupyter-server 2 can be
            return
        state["cells"] += 1
        if self.mode == "silent":
            return
        self.reply(msg, "iopub", "status", {"execution_state": "busy"})
        if self.mode == "drop":
            self.ws_connection.stream.close()  # the TCP connection, no close frame
            return
        await asyncio.sleep(args.cell_delay)
        if self.mode == "raise":
            error = {"ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": ["ZeroDivisionError: division by zero"]}
            self.reply(msg, "iopub", "error", error)
            self.reply(msg, "iopub", "status", {"execution_state": "idle"})
            self.reply(msg, "shell", "execute_reply", dict(error, status="error", execution_count=state["cells"]))
            return
        code = msg["content"]["code"]
        text = "41\n" if self.mode == "wrong" else ("42\n" if code == "print(6 * 7)" else code + "\n")
        self.reply(msg, "iopub", "stream", {"name": "stdout", "text": text})
        self.reply(msg, "iopub", "status", {"execution_state": "idle"})
        self.reply(msg, "shell", "execute_reply", {"status": "ok", "execution_count": state["cells"]})


class Health(Base):
    def get(self):
        self.send_json({})


class Metrics(Base):
    def get(self):
        if args.metrics == "404":
            raise web.HTTPError(404)
        state["metrics_scrapes"] += 1
        running = sum(1 for u in users.values() if u.get("started") is not None and not u.get("failed"))
        self.set_header("Content-Type", "text/plain; version=0.0.4")
        self.finish(f"process_start_time_seconds {STARTED_AT:.2f}\njupyterhub_running_servers {running}\n"
                    f"jupyterhub_total_users {len(users)}\n")


class Restart(web.RequestHandler):
    def get(self):
        outage["until"] = time.monotonic() + float(self.get_argument("seconds"))
        self.finish("{}")


class State(web.RequestHandler):
    def get(self):
        self.finish(json.dumps(dict(state, users=sorted(users), kernels=len(kernels),
                                    servers=sorted(n for n, u in users.items() if u.get("started") is not None))))


app = web.Application([
    (r"/hub/api/?", Version),
    (r"/hub/api/user", Me),
    (r"/hub/api/users", Users),
    (r"/hub/api/users/([^/]+)", User),
    (r"/hub/api/users/([^/]+)/server", Server),
    (r"/hub/api/users/([^/]+)/server/progress", Progress),
    (r"/hub/api/users/([^/]+)/tokens", Tokens),
    (r"/hub/api/oauth2/authorize", Authorize),
    (r"/hub/login", Login),
    (r"/hub/spawn", Spawn),
    (r"/user/([^/]+)/api/kernels/([^/]+)/channels", Channels),
    (r"/user/([^/]+)/(.*)", UserServer),
    (r"/hub/health", Health),
    (r"/hub/metrics", Metrics),
    (r"/_restart", Restart),
    (r"/_state", State),
])


async def main():
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.setblocking(False)
    server = httpserver.HTTPServer(app)
    server.add_sockets([sock])
    print("PORT", sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)

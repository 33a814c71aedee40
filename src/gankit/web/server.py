"""The web lab's HTTP side: :func:`create_app` (a Starlette app over a runs folder and a
studies folder) and :func:`serve` (``gankit serve``).

Every answer that is not a success is JSON ``{"error": "one line"}``; every request passes
:class:`gankit.web.guard.Guard` first. Runs are found only by looking their id up among the
listed run folders (:class:`gankit.web.runs.Index`); training happens in ``gankit train``
processes (:class:`gankit.web.launcher.Launcher`), the toy lab in worker processes
(:class:`gankit.web.toys.ToySessions`), never in the server.
"""

from __future__ import annotations

import asyncio
import http
import json
import secrets
import socket
import sys
import traceback
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Callable, Optional

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gankit.errors import EXIT_INTERRUPTED, MachineError, UserError
from gankit.rundir import MetricsTail
from gankit.rundir.lock import LockHeld, is_locked
from gankit.web import sample_pictures
from gankit.web.guard import LOOPBACK_HOSTS, Guard, check_token, error, is_loopback
from gankit.web.isolated import Isolation, check_package_names, strip_working_folder
from gankit.web.launcher import Conflict, Launch, Launcher, TooManyTrainings
from gankit.web.limits import (MAX_BODY, MAX_DEPTH, MAX_NAME, MAX_OVERRIDE_CHARS, MAX_OVERRIDES, check_run_limits,
                               json_depth)
from gankit.web.runs import Index, RunRef, has_generator, valid_name
from gankit.web.toys import ToyFailed, ToySessions, TooManyToys

STATIC = Path(__file__).resolve().parent / "static"
STREAM_POLL_S = 0.5
KEEP_ALIVE_S = 15.0
HOUSEKEEPING_S = 15.0
NEW_RUN_FIELDS = ("preset", "overrides", "name")


class Unreadable(UserError):
    """A run's files cannot be read (a corrupt metrics line, a broken config): HTTP 500 with the line."""


# ---------------------------------------------------------------- errors

async def _http_error(request: Request, exc: HTTPException) -> Response:
    detail = exc.detail
    if detail == http.HTTPStatus(exc.status_code).phrase:
        detail = {404: f"not found: {request.url.path}",
                  405: f"method {request.method} is not allowed for {request.url.path}"}.get(exc.status_code, detail)
    return error(exc.status_code, detail, headers=getattr(exc, "headers", None))


async def _user_error(request: Request, exc: UserError) -> Response:
    if isinstance(exc, (Conflict, LockHeld)):
        status = 409
    elif isinstance(exc, (TooManyToys, TooManyTrainings)):
        status = 429
    elif isinstance(exc, (MachineError, Unreadable)):
        status = 500
    else:
        status = 400
    return error(status, str(exc))


async def _toy_failed(request: Request, exc: ToyFailed) -> Response:
    return error(500, f"internal error: {exc} (in the toy's worker)")


class CatchAll:
    """Any exception a route lets through: its traceback to the server's stderr, and to the
    client ``{"error": "internal error: <type>"}`` (500), never the traceback."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except ClientDisconnect:
            return
        except Exception as err:
            print(f"gankit serve: error in {scope.get('method')} {scope.get('path')}:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            if not started:
                await error(500, f"internal error: {type(err).__name__}")(scope, receive, send)


class StaticFolder:
    """``/static/...``: the files of gankit/web/static (404 while there are none)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.files = StaticFiles(directory=folder, check_dir=False)

    async def __call__(self, scope, receive, send) -> None:
        if not self.folder.is_dir():
            raise HTTPException(404, f"not found: {scope.get('path')} (the web pages are not installed)")
        await self.files(scope, receive, send)


# ---------------------------------------------------------------- the app

class Lab:
    """What the routes share: the run index, the launcher, the generator cache and the toys."""

    def __init__(self, runs_dir: Path, studies_dir: Path, toy_idle_s: float, isolation: Isolation,
                 max_trainings: Optional[int] = None):
        self.index = Index(runs_dir, studies_dir)
        self.isolation = isolation
        self.launcher = Launcher(runs_dir, isolation, max_trainings)
        self.generators = sample_pictures.Generators()
        self.toys = ToySessions(isolation, idle_s=toy_idle_s)

    # ---- finding a run ----
    def find(self, run_id: str) -> RunRef:
        """The listed run with this id, or 404."""
        ref = self.index.find(run_id)
        if ref is None:
            raise HTTPException(404, f"no run '{run_id}'")
        return ref

    def pending(self, run_id: str) -> Optional[Launch]:
        """A run started here whose folder has no config.yaml yet."""
        launch = self.launcher.get(run_id)
        if launch is None or launch.resumed or self.index.find(run_id) is not None:
            return None
        return launch

    def run_config(self, ref: RunRef, overrides: list[str] = ()):
        """The run's config (with ``overrides``), read without following links."""
        from gankit.config import load_run_config

        return load_run_config(ref.run, overrides)

    # ---- what is shown of a run ----
    def entry(self, ref: RunRef) -> dict:
        """One run of the list, with what this server knows of the process training it."""
        launch = self.launcher.get(ref.id)
        preset = launch.preset if launch is not None and launch.preset else None
        if preset is None and ref.study is None:
            preset = self.launcher.recorded_preset(ref.name)
        entry = self.index.summary(ref, preset)
        entry["started_here"] = launch is not None
        if launch is not None:
            alive = launch.alive()
            entry["status"] = _overlay(entry["status"], launch, alive)
            entry["pid"] = launch.process.pid
            entry["exit_code"] = launch.exit_code
            failure = None if alive else launch.error()
            if failure:
                entry["error"] = failure
        return entry

    def pending_entry(self, launch: Launch) -> dict:
        """A run started here that has no config.yaml yet: starting, or failed before it began."""
        alive = launch.alive()
        status = "starting" if alive else ("stopped" if launch.exit_code == EXIT_INTERRUPTED else "failed")
        entry = {"id": launch.id, "name": launch.name, "study": None, "preset": launch.preset, "step": 0,
                 "steps": launch.config.train.steps, "status": status, "last": None, "metrics": {},
                 "started_here": True, "pid": launch.process.pid, "exit_code": launch.exit_code}
        failure = None if alive else launch.error()
        if failure:
            entry["error"] = failure
        return entry

    def status(self, ref: RunRef, records: list[dict]) -> str:
        try:
            steps = int(self.index.config(ref)["train"]["steps"])
        except (OSError, KeyError, TypeError, ValueError, UserError):
            steps = 0
        status = self.index.status(ref, steps, records)
        launch = self.launcher.get(ref.id)
        return status if launch is None else _overlay(status, launch, launch.alive())

    # ---- routes ----
    def units(self, request: Request) -> Response:
        """What the page labels and draws things with, from the registries: every loss (its unit and
        the quantities it derives), every logged quantity (label, short label, unit, chart), the
        training charts in page order, and every prior family (its form and parameters)."""
        from gankit.quantities import CHARTS, describe_loss
        from gankit.registry import LOSSES, PRIORS, QUANTITIES

        losses = {name: describe_loss(name, loss) for name, loss in LOSSES.items()}  # first: they bring quantities
        return JSONResponse({"losses": losses, "quantities": {key: q.to_dict() for key, q in QUANTITIES.items()},
                             "charts": [chart.to_dict() for chart in CHARTS],
                             "priors": {name: family.to_dict(name) for name, family in PRIORS.items()}})

    def presets(self, request: Request) -> Response:
        from gankit.config import preset_names

        return JSONResponse({"presets": preset_names()})

    def list_runs(self, request: Request) -> Response:
        runs = [self.pending_entry(launch) for launch in self.launcher.pending()]
        runs += [self.entry(ref) for ref in self.index.runs()]
        return JSONResponse({"runs": runs})

    def run_detail(self, request: Request) -> Response:
        from gankit.data import sample_spec

        run_id = request.path_params["id"]
        ref = self.index.find(run_id)
        if ref is None:
            launch = self.pending(run_id)
            if launch is None:
                raise HTTPException(404, f"no run '{run_id}'")
            cfg = launch.config
            detail = {**self.pending_entry(launch), "config": cfg.to_dict(), "grids": [], "loss_table": [],
                      "has_generator": False}
        else:
            detail = self.entry(ref)
            cfg = self.run_config(ref)
            detail.update({"config": self.index.config(ref), "grids": list(self.index.grids(ref)),
                           "loss_table": self.index.loss_table(ref), "has_generator": has_generator(ref)})
        spec = sample_spec(cfg.data)
        detail.update({"kind": spec.kind, "num_classes": (spec.num_classes or 0) if cfg.model.conditional != "none" else 0,
                       "z_dim": cfg.model.z_dim, "prior": cfg.train.prior, "objective": cfg.train.loss,
                       "conditional": cfg.model.conditional, "ema": cfg.train.ema is not None})
        return JSONResponse(detail)

    def _records(self, ref: RunRef) -> list[dict]:
        try:
            return self.index.records(ref)
        except ValueError as err:
            raise Unreadable(f"run {ref.id}: {err}") from None

    def run_metrics(self, request: Request) -> Response:
        run_id = request.path_params["id"]
        after = _query_int(request, "after", -1)
        ref = self.index.find(run_id)
        if ref is None:
            if self.pending(run_id) is None:
                raise HTTPException(404, f"no run '{run_id}'")
            return JSONResponse({"rows": []})
        return JSONResponse({"rows": [row for row in self._records(ref) if _step(row) > after]})

    async def run_stream(self, request: Request) -> Response:
        run_id = request.path_params["id"]
        once = request.query_params.get("once", "0").lower() in ("1", "true", "yes")
        if self.index.find(run_id) is None and self.pending(run_id) is None:
            raise HTTPException(404, f"no run '{run_id}'")
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(self._events(request, run_id, once), media_type="text/event-stream", headers=headers)

    async def _events(self, request: Request, run_id: str, once: bool):
        """The stream: ``data: {"rows": [...]}`` with every row so far (again, with "reset":
        true, when the file was rewritten by a resume), then ``data: {row}`` per new row, and
        ``event: status`` whenever the status changes."""
        tail: Optional[MetricsTail] = None
        shown_status = None
        quiet = 0.0
        yield "retry: 2000\n\n"
        while True:
            ref = self.index.find(run_id)
            chunks = []
            if ref is not None:
                if tail is None:
                    tail = MetricsTail(ref.run)
                new, reset = await run_in_threadpool(tail.read)
                if reset or not tail.announced:
                    chunks.append(_sse({"rows": tail.rows, **({"reset": True} if reset and tail.announced else {})}))
                    tail.announced = True
                else:
                    chunks += [_sse(row) for row in new]
                status = await run_in_threadpool(self.status, ref, tail.rows)
                step = _step(tail.rows[-1]) if tail.rows else 0
            else:
                launch = self.pending(run_id)
                if launch is None:
                    return
                status = self.pending_entry(launch)["status"]
                step = 0
            if status != shown_status:
                chunks.append(_sse({"status": status, "step": step}, event="status"))
                shown_status = status
            for chunk in chunks:
                yield chunk
            if once:
                return
            quiet = 0.0 if chunks else quiet + STREAM_POLL_S
            if quiet >= KEEP_ALIVE_S:
                yield ": keep-alive\n\n"
                quiet = 0.0
            if await request.is_disconnected():
                return
            await asyncio.sleep(STREAM_POLL_S)

    def run_grid(self, request: Request) -> Response:
        ref = self.find(request.path_params["id"])
        step = request.path_params["step"]
        path = self.index.grids(ref).get(step)
        try:
            body = ref.run.read_bytes(path) if path is not None else None
        except FileNotFoundError:
            body = None
        if body is None:
            raise HTTPException(404, f"run {ref.id} has no picture of step {step}")
        return Response(body, media_type="image/png", headers={"Cache-Control": "no-store"})

    def _sampling(self, request: Request):
        ref = self.index.find(request.path_params["id"])
        if ref is None:
            if self.pending(request.path_params["id"]) is not None:
                raise Conflict(f"run {request.path_params['id']} has no trained generator yet")
            raise HTTPException(404, f"no run '{request.path_params['id']}'")
        cfg = self.run_config(ref)
        self.isolation.check(cfg, f"run {ref.id}")  # sampling builds its G here, in the server
        return ref, cfg

    def samples_png(self, request: Request) -> Response:
        ref, cfg = self._sampling(request)
        query = sample_pictures.sample_request(request.query_params)
        body = sample_pictures.png(self.generators, ref.run, cfg, query, ref.id)
        return Response(body, media_type="image/png", headers={"Cache-Control": "no-store"})

    def samples_json(self, request: Request) -> Response:
        ref, cfg = self._sampling(request)
        query = sample_pictures.sample_request(request.query_params)
        return JSONResponse(sample_pictures.samples_json(self.generators, ref.run, cfg, query, ref.id))

    def interpolation_png(self, request: Request) -> Response:
        ref, cfg = self._sampling(request)
        body = sample_pictures.interpolation_png(self.generators, ref.run, cfg, request.query_params, ref.id)
        return Response(body, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def start_run(self, request: Request) -> Response:
        body = await _json_body(request, NEW_RUN_FIELDS)
        launch = await run_in_threadpool(self._start_run, body)
        return JSONResponse({"id": launch.id, "pid": launch.process.pid}, status_code=202)

    def _start_run(self, body: dict) -> Launch:
        from gankit.config import override_strings
        from gankit.config import DEFAULT_PRESET, build_config, preset_names
        from gankit.registry import suggestion
        from gankit.rundir.make import check_run_name

        preset = body.get("preset") or DEFAULT_PRESET
        names = preset_names()
        if not isinstance(preset, str) or preset not in names:
            shown = preset if isinstance(preset, str) else json.dumps(preset)
            raise UserError(f"unknown preset '{shown}'{suggestion(str(shown), names)}; presets: {', '.join(names)}")
        overrides = _override_list(body.get("overrides"))
        strings = override_strings(overrides)
        name = body.get("name")
        if name is not None and name != "":
            if not isinstance(name, str):
                raise UserError("name must be a string")
            _check_new_name(check_run_name(name))
        cfg = build_config(preset, strings)
        self.isolation.check(cfg, "the request")
        check_run_limits(cfg, "the request")
        base = name or cfg.name
        _check_new_name(check_run_name(base))
        return self.launcher.start_new(preset, strings, base, cfg)

    def stop_run(self, request: Request) -> Response:
        run_id = request.path_params["id"]
        ref = self.index.find(run_id)
        if ref is None and self.launcher.get(run_id) is None:
            raise HTTPException(404, f"no run '{run_id}'")
        self.launcher.stop(run_id, running_elsewhere=ref is not None and is_locked(ref.path) is not None)
        return JSONResponse({"stopping": True}, status_code=202)

    async def resume_run(self, request: Request) -> Response:
        body = await _json_body(request, ("overrides",))
        launch = await run_in_threadpool(self._resume_run, request.path_params["id"], body)
        return JSONResponse({"id": launch.id, "pid": launch.process.pid}, status_code=202)

    def _resume_run(self, run_id: str, body: dict) -> Launch:
        from gankit.config import READY_MADE_ARCH, override_strings

        ref = self.find(run_id)
        holder = is_locked(ref.path)
        if self.launcher.running(run_id) or holder is not None:
            raise Conflict(f"run {run_id} is running" + (f" ({holder})" if holder else "") + "; stop it first")
        strings = override_strings(_override_list(body.get("overrides")))
        cfg = self.run_config(ref, strings)
        self.isolation.check(cfg, f"run {run_id} (with the request's overrides)")
        check_run_limits(cfg, f"run {run_id} (with the request's overrides)")
        if cfg.model.arch == READY_MADE_ARCH:
            raise UserError(f"run {run_id} was trained on ready-made modules: resume it from Python, "
                            "gankit.train(resume=RUN, generator=G, discriminator=D)")
        done = self.index.finished_step(ref)
        if done is not None and cfg.train.steps <= done:
            raise UserError(f"run {run_id} is already at step {done}; set train.steps to more than that to continue")
        preset = self.launcher.recorded_preset(ref.name) if ref.study is None else None
        return self.launcher.start_resume(ref.id, ref.name, ref.study, ref.path, strings, cfg, preset)

    def studies(self, request: Request) -> Response:
        return JSONResponse({"studies": self.index.studies()})

    # ---- the toy lab ----
    async def toy_create(self, request: Request) -> Response:
        body = await _json_body(request, None)
        return JSONResponse(await run_in_threadpool(self.toys.create, body))

    def _toy(self, request: Request):
        toy = self.toys.get(request.path_params["id"])
        if toy is None:
            raise HTTPException(404, f"no toy '{request.path_params['id']}' (closed, or idle too long)")
        return toy

    def toy_state(self, request: Request) -> Response:
        return JSONResponse(self.toys.state(self._toy(request)))

    async def toy_step(self, request: Request) -> Response:
        body = await _json_body(request, ("steps",))
        toy = self._toy(request)
        return JSONResponse(await run_in_threadpool(self.toys.step, toy, body.get("steps", 1)))

    async def toy_settings(self, request: Request) -> Response:
        body = await _json_body(request, None)
        toy = self._toy(request)
        return JSONResponse(await run_in_threadpool(self.toys.change, toy, body))

    def toy_delete(self, request: Request) -> Response:
        if not self.toys.delete(request.path_params["id"]):
            raise HTTPException(404, f"no toy '{request.path_params['id']}'")
        return JSONResponse({"deleted": True})

    async def housekeeping(self) -> None:
        """Every few seconds: reap ended training processes, end idle toys."""
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            try:
                await run_in_threadpool(self.launcher.all)
                await run_in_threadpool(self.toys.reap_idle)
            except Exception:
                traceback.print_exc(file=sys.stderr)


def _page(name: str) -> Callable:
    def page(request: Request) -> Response:
        path = STATIC / name
        if not path.is_file():
            raise HTTPException(404, f"the page {name} is not installed (gankit/web/static/{name} is missing)")
        return FileResponse(path, media_type="text/html", headers={"Cache-Control": "no-store"})

    return page


def create_app(runs_dir, studies_dir, token: Optional[str] = None, *,
               allowed_hosts: Optional[tuple[str, ...]] = None, toy_idle_s: float = 600.0,
               allow_imports: tuple[str, ...] = (), max_trainings: Optional[int] = None) -> Starlette:
    """The web lab over ``runs_dir`` and ``studies_dir``. ``token``: every API request must
    carry it in ``Authorization: Bearer`` (:class:`gankit.web.guard.Guard`); None only for
    ``gankit serve --no-token``. ``allowed_hosts``: the only Host names answered (gankit serve
    passes the loopback names when it listens on loopback); ``toy_idle_s``: a toy nobody asks
    for this long is ended; ``allow_imports``: packages whose families (``model.arch=
    package.module:Family``) runs started or sampled here may use; ``max_trainings``: how many
    trainings started here may run at once (default: the cores). The server's own folder
    ``runs_dir/.gankit-serve`` is made (or checked to be this account's) now."""
    if token is not None:
        check_token(token)
    lab = Lab(Path(runs_dir).absolute(), Path(studies_dir).absolute(), toy_idle_s, Isolation(allow_imports),
              max_trainings)
    routes = [
        Route("/", _page("index.html")),
        Route("/run/{id}", _page("run.html")),
        Route("/toy", _page("toy.html")),
        Route("/study/{name}", _page("study.html")),
        Mount("/static", app=StaticFolder(STATIC)),
        Route("/api/presets", lab.presets),
        Route("/api/units", lab.units),
        Route("/api/runs", lab.list_runs, methods=["GET"]),
        Route("/api/runs", lab.start_run, methods=["POST"]),
        Route("/api/studies", lab.studies),
        Route("/api/runs/{id}", lab.run_detail),
        Route("/api/runs/{id}/metrics", lab.run_metrics),
        Route("/api/runs/{id}/stream", lab.run_stream),
        Route("/api/runs/{id}/grid/{step:int}.png", lab.run_grid),
        Route("/api/runs/{id}/samples.png", lab.samples_png),
        Route("/api/runs/{id}/samples.json", lab.samples_json),
        Route("/api/runs/{id}/interpolation.png", lab.interpolation_png),
        Route("/api/runs/{id}/stop", lab.stop_run, methods=["POST"]),
        Route("/api/runs/{id}/resume", lab.resume_run, methods=["POST"]),
        Route("/api/toy", lab.toy_create, methods=["POST"]),
        Route("/api/toy/{id}", lab.toy_state, methods=["GET"]),
        Route("/api/toy/{id}", lab.toy_delete, methods=["DELETE"]),
        Route("/api/toy/{id}/step", lab.toy_step, methods=["POST"]),
        Route("/api/toy/{id}/settings", lab.toy_settings, methods=["POST"]),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette):
        task = asyncio.create_task(lab.housekeeping())
        try:
            yield
        finally:
            task.cancel()
            await run_in_threadpool(lab.toys.close_all)

    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(CatchAll), Middleware(Guard, token=token, allowed_hosts=allowed_hosts)],
                    exception_handlers={HTTPException: _http_error, UserError: _user_error, ToyFailed: _toy_failed})
    app.state.lab = lab
    return app


# ---------------------------------------------------------------- helpers

def _overlay(status: str, launch: Launch, alive: bool) -> str:
    """A run's status with what the server knows of the process it started for it: "starting"
    while that process lives but has not yet been seen holding the run's lock (loading data,
    or resuming a run that reads as stopped or finished until then)."""
    if status == "running":
        launch.seen_running = launch.seen_running or alive
        return status
    return "starting" if alive and not launch.seen_running else status


def _sse(data: Any, event: Optional[str] = None) -> str:
    text = json.dumps(data, separators=(",", ":"))
    return (f"event: {event}\n" if event else "") + f"data: {text}\n\n"


def _step(row: dict) -> int:
    try:
        return int(row.get("step", 0))
    except (TypeError, ValueError):
        return 0


def _query_int(request: Request, key: str, default: int) -> int:
    text = request.query_params.get(key)
    if text is None or not text.strip():
        return default
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"{key} must be a whole number (got '{text[:40]}')") from None
    if not -1 <= value < 2**63:
        raise UserError(f"{key} must lie in -1..{2**63 - 1} (got {text[:40]})")
    return value


async def _json_body(request: Request, fields: Optional[tuple[str, ...]]) -> dict:
    """The request's JSON object ({} for an empty body); ``fields``: the keys it may have.
    At most MAX_BODY bytes are read, whatever the Content-Length says (413 beyond)."""
    too_large = HTTPException(413, f"the request body is larger than {MAX_BODY} bytes")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    if json_depth(raw) > MAX_DEPTH:
        raise UserError(f"the request body nests deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise UserError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise UserError("the request body must be a JSON object")
    if fields is not None:
        for key in data:
            if key not in fields:
                raise UserError(f"unknown field '{key}' in the request (fields: {', '.join(fields)})")
    return data


def _override_list(overrides: Any):
    """The overrides of a request: a mapping of key to value, or a list of "key=value" strings."""
    if overrides is None:
        return {}
    if not isinstance(overrides, (dict, list)) or (
            isinstance(overrides, list) and not all(isinstance(item, str) for item in overrides)):
        raise UserError('overrides must be an object {"key": value} or a list of "key=value" strings')
    if len(overrides) > MAX_OVERRIDES:
        raise UserError(f"at most {MAX_OVERRIDES} overrides (got {len(overrides)})")
    texts = overrides if isinstance(overrides, list) else [f"{k}={json.dumps(v)}" for k, v in overrides.items()]
    if any(len(text) > MAX_OVERRIDE_CHARS for text in texts):
        raise UserError(f"an override is longer than {MAX_OVERRIDE_CHARS} characters")
    return overrides


def _check_new_name(name: str) -> str:
    if len(name) > MAX_NAME:
        raise UserError(f"run name is longer than {MAX_NAME} characters")
    if not valid_name(name) or ":" in name:
        raise UserError(f"run name '{name}' is not a plain folder name (no '/', '\\', '..', ':', and no leading '.')")
    return name


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one), or a one-line MachineError."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise UserError(f"--host {host}: {err.strerror or err}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if host in ("::", "") else 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as err:
        sock.close()
        raise MachineError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return sock


def resolve_token(host: str, token: Optional[str], no_token: bool) -> Optional[str]:
    """The token of a server on ``host``: ``token`` if given (checked), None for ``no_token``
    (refused beside a token or on a host other machines reach), else a fresh random one."""
    if no_token:
        if token is not None:
            raise UserError("--no-token and a token (--token or GANKIT_TOKEN) contradict each other: choose one")
        if not is_loopback(host):
            raise UserError(f"--no-token only on loopback: --host {host} can be reached from other machines")
        return None
    return check_token(token) if token is not None else secrets.token_urlsafe(24)


NO_TOKEN_WARNING = ("gankit serve: WARNING: --no-token: every account on this machine can open {address}, start "
                    "and stop trainings, resume them and read every run here. Use it only where nobody else logs in.")


def serve(runs_dir: Path, studies_dir: Path, *, host: str = "127.0.0.1", port: int = 8000,
          token: Optional[str] = None, no_token: bool = False, allow_imports: tuple[str, ...] = (),
          max_trainings: Optional[int] = None, say: Optional[Callable[[str], None]] = None) -> None:
    """``gankit serve``: listen on host:port until Ctrl-C. Every request needs a token
    (``token``, or one generated per start), printed in the address; ``no_token`` (loopback
    only) drops it. At most ``max_trainings`` trainings at once (default: the cores). Nothing
    is opened (no browser)."""
    import uvicorn

    say = say or (lambda text: print(text, flush=True))
    token = resolve_token(host, token, no_token)
    check_package_names(allow_imports)
    sock = _listen(host, port)
    port = sock.getsockname()[1]
    allowed = tuple(sorted({*LOOPBACK_HOSTS, host})) if is_loopback(host) else None
    try:
        app = create_app(runs_dir, studies_dir, token=token, allowed_hosts=allowed, allow_imports=allow_imports,
                         max_trainings=max_trainings)
    except BaseException:
        sock.close()
        raise
    strip_working_folder()  # after create_app found the allowed packages where they are
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/" + (f"#token={token}" if token else "")
    say(f"gankit serve: runs from {runs_dir}, studies from {studies_dir}")
    say(f"gankit serve: listening on {address}")
    if token is None:
        print(NO_TOKEN_WARNING.format(address=address), file=sys.stderr, flush=True)
    else:
        say("gankit serve: open the address above: the page keeps its token in that browser tab alone (no "
            "cookie); scripts send the header Authorization: Bearer TOKEN")
    if allow_imports:
        say(f"gankit serve: runs may use families from: {', '.join(allow_imports)}")
    say(f"gankit serve: at most {app.state.lab.launcher.max_trainings} trainings at once; Ctrl-C stops the server "
        "(trainings started from the page keep running)")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if server.should_exit:
        # Stopped by Ctrl-C or SIGTERM. uvicorn raises the signal again once it has shut down, but
        # asyncio can let that KeyboardInterrupt pass when the server's task has just finished.
        raise KeyboardInterrupt

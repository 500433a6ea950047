"""deploy/: the compose file, the systemd units, the nginx site and the environment template are what an operator
installs, so they are read here as their tools read them: every command they start exists, every service the
issue names is there, the environment template has every setting the app reads, and nginx accepts the site."""

import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from kernel.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
INSTALLED_AT = "/opt/grid/"  # where the units expect the repository


class RecordingEnvironment(Mapping[str, str]):
    """An empty environment that remembers every name the settings ask it for."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def get(self, key: str, default=None):  # type: ignore[no-untyped-def, override]
        self.asked.add(key)
        return default


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file as systemd reads it: sections of keys, a key may repeat (ExecStart of a oneshot)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in (DEPLOY / "systemd" / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            assert line.endswith("]"), raw
            current = sections.setdefault(line[1:-1], {})
            continue
        key, separator, value = line.partition("=")
        assert separator and current is not None, f"{name}: not a key=value line: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def template_names() -> set[str]:
    text = (DEPLOY / "grid.env.example").read_text()
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def program_of(exec_start: str) -> Path:
    program = exec_start.split()[0]
    assert program.startswith(INSTALLED_AT), exec_start
    return ROOT / program.removeprefix(INSTALLED_AT)


def test_the_environment_template_names_every_setting_the_app_reads():
    environment = RecordingEnvironment()
    load_settings(environment)
    assert environment.asked - template_names() == set()


def test_the_environment_template_names_every_setting_readme_lists():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = {name for name in re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", table, flags=re.MULTILINE)}
    assert listed - template_names() == set()


def test_the_environment_template_holds_no_secret():
    for line in (DEPLOY / "grid.env.example").read_text().splitlines():
        if line.startswith(("SECRET_KEY=", "JWT_SECRET_KEY=")):
            assert line.endswith("=")


@pytest.mark.parametrize(
    "name",
    ["grid-web.service", "grid-notify@.service", "grid-sweep.service", "grid-migrate.service", "grid-daily.service"],
)
def test_each_service_unit_runs_a_program_of_the_repository_with_the_environment_file(name):
    service = unit(name)["Service"]
    assert service["EnvironmentFile"] == ["/etc/grid/grid.env"]
    assert service["WorkingDirectory"] == [INSTALLED_AT.rstrip("/")]
    for command in service["ExecStart"]:
        assert program_of(command).exists(), command
    assert service["User"] == ["grid"]


def test_the_web_unit_starts_the_one_web_command_the_procfile_starts():
    assert unit("grid-web.service")["Service"]["ExecStart"] == ["/opt/grid/deploy/web.sh"]
    assert re.search(r"^web: exec deploy/web\.sh$", (ROOT / "Procfile").read_text(), flags=re.MULTILINE)
    assert compose()["services"]["web"]["command"] == ["/app/deploy/web.sh"]


def test_the_web_server_stops_gracefully_within_what_systemd_and_compose_wait_for():
    settings = (ROOT / "uwsgi.ini").read_text()
    mercy = int(re.search(r"^worker-reload-mercy = (\d+)$", settings, flags=re.MULTILINE).group(1))
    assert "hook-master-start = unix_signal:15 gracefully_kill_them_all" in settings  # SIGTERM is graceful
    service = unit("grid-web.service")["Service"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert int(service["TimeoutStopSec"][0]) > mercy
    assert compose()["services"]["web"]["stop_grace_period"] == f"{mercy + 5}s"


def test_the_web_servers_workers_are_replaced_seconds_apart_not_together():
    """uWSGI replaces worker N after max-requests + (N - 1) × max-requests-delta requests, and its master notices
    a worker gone within a one-second check: workers replaced together paused the whole server (a p99 of 860 ms at
    /healthz's 8,000 requests/s with a delta of 500). At 5,000 requests/s a worker, each must go at least two
    checks after the one before it."""
    settings = (ROOT / "uwsgi.ini").read_text()

    def number(name: str) -> int:
        return int(re.search(rf"^{name} = (\d+)$", settings, flags=re.MULTILINE).group(1))  # type: ignore[union-attr]

    assert number("max-requests-delta") / 5_000 >= 2  # seconds between one worker's replacement and the next's
    assert number("max-requests") >= number("max-requests-delta")


def test_the_image_compiles_the_web_server_in_a_build_stage_and_ships_without_the_compiler():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]
    assert len(stages) == 2
    assert "gcc" in stages[0] and "requirements.txt" in stages[0]
    assert "gcc" not in stages[1] and "COPY --from=build /app/.venv /app/.venv" in stages[1]
    assert re.search(r"^uwsgi==", (ROOT / "requirements.txt").read_text(), flags=re.MULTILINE)


def test_the_web_unit_keeps_metrics_of_its_workers_in_a_folder_of_its_own():
    service = unit("grid-web.service")["Service"]
    assert service["Environment"] == ["PROMETHEUS_MULTIPROC_DIR=/run/grid-web/metrics"]
    assert service["RuntimeDirectory"] == ["grid-web"]


@pytest.mark.parametrize(("timer", "service"), [("grid-sweep.timer", "grid-sweep"), ("grid-daily.timer", "grid-daily")])
def test_each_timer_starts_its_oneshot_service(timer, service):
    sections = unit(timer)
    assert sections["Timer"]["Unit"] == [f"{service}.service"]
    assert sections["Install"]["WantedBy"] == ["timers.target"]
    assert unit(f"{service}.service")["Service"]["Type"] == ["oneshot"]


def test_the_sweep_runs_every_minute_and_the_delivery_worker_is_a_template():
    assert unit("grid-sweep.timer")["Timer"]["OnCalendar"] == ["*-*-* *:*:00"]
    assert unit("grid-sweep.service")["Service"]["ExecStart"] == ["/opt/grid/.venv/bin/flask --app wsgi tasks sweep"]
    notify = unit("grid-notify@.service")
    assert notify["Service"]["ExecStart"] == ["/opt/grid/.venv/bin/flask --app wsgi notify worker"]
    assert "%i" in notify["Unit"]["Description"][0]


def test_the_daily_unit_runs_each_daily_command_readme_names(app):
    """What README says to run daily, each a command the app has (its --help answers)."""
    prefix = "/opt/grid/.venv/bin/flask --app wsgi "
    commands = [command.removeprefix(prefix) for command in unit("grid-daily.service")["Service"]["ExecStart"]]
    assert commands == [
        "purge-idempotency-keys",
        "purge-positions",
        "tasks purge-photos",
        "purge-login-counts",
        "partitions ensure --months-ahead 3",
    ]
    for command in commands:
        result = app.test_cli_runner().invoke(args=[*command.split(), "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_compose_runs_postgresql_redis_the_web_two_delivery_workers_and_the_sweep():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "notify", "sweep"}
    assert services["notify"]["deploy"]["replicas"] == 2
    assert services["notify"]["command"] == ["flask", "--app", "wsgi", "notify", "worker"]
    assert services["sweep"]["command"][-4:] == ["tasks", "sweep", "--every", "60"]


def test_compose_migrates_before_the_app_starts_and_shares_one_database_and_redis():
    services = compose()["services"]
    assert services["migrate"]["command"] == ["flask", "--app", "wsgi", "db", "upgrade"]
    for name in ("web", "notify", "sweep"):
        service = services[name]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["environment"]["DATABASE_URL"].endswith("@postgres:5432/grid")
        assert service["environment"]["RATELIMIT_STORAGE_URI"] == "redis://redis:6379/0"
        assert service["env_file"] == "grid.env"
        assert (DEPLOY / service["build"]["dockerfile"].removeprefix("deploy/")).exists()


def served_metrics(client) -> set[str]:
    """The names of the families /metrics serves (a counter's without `_total`)."""
    client.get("/healthz")  # so the request counters have a series
    text = client.get("/metrics").get_data(as_text=True)
    return {family.name for family in text_string_to_metric_families(text)}


def queried(expression: str) -> set[str]:
    """The service's metric families a PromQL expression reads."""
    return {re.sub(r"_(bucket|total|count|sum)$", "", name) for name in re.findall(r"\bgrid_\w+", expression)}


def test_the_grafana_dashboard_graphs_metrics_the_app_serves(client):
    dashboard = json.loads((DEPLOY / "grafana" / "grid-dashboard.json").read_text())
    graphed = {name for panel in dashboard["panels"] for target in panel["targets"] for name in queried(target["expr"])}
    assert len(graphed) == 8
    assert graphed - served_metrics(client) == set()


def test_the_alerts_use_metrics_the_app_serves(client):
    rules = yaml.safe_load((DEPLOY / "grid-alerts.yml").read_text())["groups"][0]["rules"]
    alerted = {name for rule in rules for name in queried(rule["expr"])}
    assert {"grid_outbox_oldest_due_age_seconds", "grid_sweep_lag_seconds", "grid_http_requests"} <= alerted
    assert alerted - served_metrics(client) == set()


def test_the_nginx_site_limits_bodies_passes_the_client_address_and_hides_metrics():
    site = (DEPLOY / "nginx" / "grid.conf").read_text()
    assert "client_max_body_size 16m;" in site
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert re.search(r"location = /metrics \{\s*return 404;", site)
    assert "TRUSTED_PROXIES=1" in (DEPLOY / "grid.env.example").read_text()


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (apt-get install nginx-light)")
def test_nginx_accepts_the_site(tmp_path):
    certificate, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=grid.test"]
    subprocess.run([*openssl, "-keyout", str(key), "-out", str(certificate)], check=True, capture_output=True)  # noqa: S603 (fixed arguments)
    site = (DEPLOY / "nginx" / "grid.conf").read_text()
    site = site.replace("/etc/ssl/grid/fullchain.pem", str(certificate)).replace("/etc/ssl/grid/privkey.pem", str(key))
    (tmp_path / "grid.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n include {tmp_path}/grid.conf;\n}}\n"
    )
    nginx = ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    checked = subprocess.run(nginx, capture_output=True, text=True)  # noqa: S603 (fixed arguments)
    assert checked.returncode == 0, checked.stderr


def test_systemd_accepts_the_units(tmp_path):
    """systemd's own check (`systemd-analyze verify`) of every unit in a root laid out as README installs it: the
    units in /etc/systemd/system, this machine's systemd units beside them, and each program a unit starts at
    its path (the repository's own, as installed at /opt/grid). Any warning fails, not only an error."""
    if shutil.which("systemd-analyze") is None or not Path("/usr/lib/systemd/system").is_dir():
        pytest.skip("needs systemd-analyze")
    root = tmp_path / "root"
    units = root / "etc" / "systemd" / "system"
    shutil.copytree("/usr/lib/systemd", root / "usr" / "lib" / "systemd", symlinks=True)
    (root / "lib").symlink_to("usr/lib")
    shutil.copytree(DEPLOY / "systemd", units)
    for path in sorted((DEPLOY / "systemd").iterdir()):
        for key, values in unit(path.name)["Service" if path.suffix == ".service" else "Timer"].items():
            for program in (value.lstrip("-@+!").split()[0] for value in values if key.startswith("Exec")):
                source = program_of(program) if program.startswith(INSTALLED_AT) else Path(program)
                if source.name == "flask" and not source.exists():
                    pytest.skip("the virtualenv is not installed here (make test installs it)")
                placed = root / program.lstrip("/")
                placed.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, placed)
    names = [str(units / path.name) for path in sorted(units.iterdir()) if "@" not in path.name]
    names += [str(units / "grid-notify@1.service")]  # a template is checked through an instance
    checked = subprocess.run(  # noqa: S603 (fixed arguments)
        ["systemd-analyze", "verify", f"--root={root}", "--man=no", "--generators=no", *names],  # noqa: S607
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0 and not checked.stdout.strip() and not checked.stderr.strip(), checked.stderr

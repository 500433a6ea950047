"""README's "With systemd and nginx" block as a shell script for deploy/check/fresh_machine.sh: the commands exactly
as README writes them, with only what an operator types or edits filled in. Each fill-in must find its line once,
so a README that changed under it stops the check instead of being walked past.

    python3 deploy/check/readme_steps.py README.md git://10.77.0.1/grid.git > steps.sh
    python3 deploy/check/readme_steps.py --map > district.geojson      # a district of four nested squares
"""

import json
import re
import sys

CERTIFICATE = (
    "sudo mkdir -p /etc/ssl/grid && sudo openssl req -x509 -newkey rsa:2048 -nodes -days 30"
    " -subj /CN=grid.example.gov.cn -addext subjectAltName=DNS:grid.example.gov.cn"
    " -keyout /etc/ssl/grid/privkey.pem -out /etc/ssl/grid/fullchain.pem 2>/dev/null"
)
FILL_IN_ENVIRONMENT = """secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(48))'; }
sudo sed -i -e "s|^DATABASE_URL=.*|DATABASE_URL=postgresql://grid:$DB_PASSWORD@127.0.0.1:5432/grid|" \\
  -e "s|^SECRET_KEY=.*|SECRET_KEY=$(secret)|" -e "s|^JWT_SECRET_KEY=.*|JWT_SECRET_KEY=$(secret)|" \\
  -e "s|^RATELIMIT_STORAGE_URI=.*|RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0|" /etc/grid/grid.env"""


def block(readme: str) -> str:
    section = readme.split("**With systemd and nginx**", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL).group(1)


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"README's steps no longer have exactly one {old!r}"
    return text.replace(old, new)


def steps(readme: str, repository: str) -> str:
    text = block(readme)
    text = replace_once(text, "<repository>", repository)
    # Typed at a prompt by the operator.
    text = replace_once(
        text,
        "createuser --pwprompt grid",
        """createuser grid && sudo -u postgres psql -qc "ALTER ROLE grid PASSWORD '$DB_PASSWORD'\"""",
    )
    # "then fill in DATABASE_URL, both secrets, RATELIMIT_STORAGE_URI, HOST": HOST stays 127.0.0.1, one machine.
    lines = text.splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith("sudo install -m 600 deploy/grid.env.example")]
    assert len(at) == 1, "README's steps no longer install grid.env.example"
    end = at[0] + 1
    while lines[end].lstrip().startswith("#"):
        end += 1
    lines[end:end] = FILL_IN_ENVIRONMENT.splitlines()
    text = "\n".join(lines) + "\n"
    # The map the operator brings.
    text = replace_once(
        text,
        "grid_flask grid import /var/lib/grid/district.geojson",
        "sudo install -o grid -m 644 /root/district.geojson /var/lib/grid/district.geojson\n"
        "grid_flask grid import /var/lib/grid/district.geojson",
    )
    # "edit server_name, certificates, upstreams": the site's name kept, a self-signed certificate where it looks.
    text = replace_once(text, "sudo nginx -t && ", CERTIFICATE + "\nsudo nginx -t && ")
    # nginx reloads after systemctl returns; the certificate is our own.
    text = replace_once(
        text,
        "curl -fsS https://grid.example.gov.cn/readyz",
        "sleep 2; curl -fsS --cacert /etc/ssl/grid/fullchain.pem https://grid.example.gov.cn/readyz",
    )
    assert "sudo apt-get install " in text
    text = text.replace("sudo apt-get install ", "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q ")
    return "set -e\n" + text


def district_map() -> dict:
    """A district, a street, a community and a cell: squares around one point, each inside its parent."""

    def square(radius: float) -> dict:
        x, y = 112.532, 32.995
        ring = [[x - radius, y - radius], [x + radius, y - radius], [x + radius, y + radius], [x - radius, y + radius]]
        return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}

    units = [
        ("D01", "试点区", "district", None, 0.2),
        ("S01", "试点街道", "street", "D01", 0.1),
        ("C01", "试点社区", "community", "S01", 0.05),
        ("G01", "试点社区第一网格", "grid", "C01", 0.02),
    ]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": code, "name": name, "level": level, "parent_code": parent},
                "geometry": square(radius),
            }
            for code, name, level, parent, radius in units
        ],
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["--map"]:
        print(json.dumps(district_map(), ensure_ascii=False))
    else:
        with open(sys.argv[1], encoding="utf-8") as readme:
            print(steps(readme.read(), sys.argv[2]), end="")

#!/usr/bin/env python3
"""Make a local certificate authority and a certificate for some names, with openssl.

For HTTPS where no public CA can reach (the demo, the test bed): the lb serves site.crt and
site.key (nginx_lb_tls: files), and clients trust ca.crt. The CA is made once per directory and
reused; the site's certificate is made anew on every run.

    tools/local_ca.py --dir .cache/demo/tls --name localhost --ip 127.0.0.1

prints the variables for the lb as JSON (an extra-vars file for ansible-playbook) with --vars FILE.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import pathlib
import re
import subprocess
import sys

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")


def openssl(*args: str, cwd: pathlib.Path) -> None:
    run = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise SystemExit(f"local_ca: openssl {args[0]} failed: {run.stderr.strip()}")


def make(directory: pathlib.Path, names: list[str], ips: list[str], days: int, subject: str) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    if not (directory / "ca.crt").exists():
        openssl(
            "req",
            "-x509",
            *EC,
            "-days",
            "3650",
            "-subj",
            f"/CN={subject}",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            cwd=directory,
        )
    alt = ",".join([f"DNS:{name}" for name in names] + [f"IP:{ip}" for ip in ips])
    (directory / "site.ext").write_text(
        f"subjectAltName={alt}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    openssl("req", *EC, "-subj", f"/CN={(names or ips)[0]}", "-keyout", "site.key", "-out", "site.csr", cwd=directory)
    openssl(
        "x509", "-req", "-in", "site.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", str(days), "-extfile", "site.ext", "-out", "site.crt", cwd=directory,
    )  # fmt: skip
    for key in ("ca.key", "site.key"):
        os.chmod(directory / key, 0o600)
    return {name: (directory / name).read_text() for name in ("ca.crt", "site.crt", "site.key")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True, type=pathlib.Path, help="where ca.* and site.* go")
    parser.add_argument("--name", action="append", default=[], help="a DNS name of the certificate (repeatable)")
    parser.add_argument("--ip", action="append", default=[], help="an IP address of the certificate (repeatable)")
    parser.add_argument("--days", type=int, default=30, help="the site certificate's life (default 30)")
    parser.add_argument("--subject", default="djangoops local CA", help="the CA's common name")
    parser.add_argument("--vars", type=pathlib.Path, help="write nginx_lb_tls: files and the PEMs here (JSON, 0600)")
    args = parser.parse_args(argv)
    if not args.name and not args.ip:
        parser.error("give at least one --name or --ip")
    for name in args.name:
        if not NAME.match(name):
            parser.error(f"--name {name!r} is not a host name")
    for ip in args.ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            parser.error(f"--ip {ip!r} is not an IP address")
    pem = make(args.dir, args.name, args.ip, args.days, args.subject)
    if args.vars:
        args.vars.touch(mode=0o600)
        args.vars.write_text(
            json.dumps(
                {
                    "nginx_lb_tls": "files",
                    "nginx_lb_tls_certificate": pem["site.crt"],
                    "nginx_lb_tls_certificate_key": pem["site.key"],
                }
            )
        )
    print(
        f"local_ca: {args.dir / 'site.crt'} for {', '.join(args.name + args.ip)}; clients trust {args.dir / 'ca.crt'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

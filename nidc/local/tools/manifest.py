"""The tool manifest (nidc/local/tools.toml) as typed data, and where each tool is cached."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST_PATH = Path(__file__).resolve().parent.parent / "tools.toml"
GO_SOURCES = Path(__file__).resolve().parent.parent / "go"
# The job a class-archive build runs (read as a file: nidc does not import spark_jobs).
CLASS_ARCHIVE_JOB = Path(__file__).resolve().parents[3] / "spark_jobs" / "class_archive.py"


LATER_FIELDS = ("debian_packages", "binary_dirs")


@dataclass(frozen=True)
class Tool:
    """One entry of the manifest: what to build, from where, and how."""

    name: str
    version: str
    source: str
    method: str
    binaries: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    local_replace: str = "same-version"
    generate: str = ""
    ldflags_version: str = ""
    plugin_version: str = ""
    data: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()
    exclude_groups: tuple[str, ...] = ()
    exclude_artifacts: tuple[str, ...] = ()
    skip_jars_shipped_by: str = ""
    debian_packages: tuple[str, ...] = ()
    binary_dirs: tuple[str, ...] = ()
    replace_versions: dict[str, str] = field(default_factory=dict)

    def recipe_hash(self) -> str:
        """A digest of everything that decides the build; a changed recipe means a rebuild."""
        # Fields added after the first tools were cached count only where set, so adding a
        # field never changes (and rebuilds) the recipe of tools that do not use it.
        recipe = {
            key: value for key, value in asdict(self).items() if value or key not in LATER_FIELDS
        }
        if self.method == "class-archive":
            # The training job decides what the archive holds: editing it rebuilds the archive.
            recipe["sources"] = hashlib.sha256(CLASS_ARCHIVE_JOB.read_bytes()).hexdigest()
        if self.method == "go-source":
            # Our own Go sources are part of the recipe: editing them rebuilds the tool.
            src = GO_SOURCES / self.name
            recipe["sources"] = {
                str(p.relative_to(src)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(src.rglob("*"))
                if p.is_file()
            }
        return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, Tool]:
    """Read the manifest into Tool records, keyed by name, in file order."""
    raw = tomllib.loads(path.read_text())
    tools: dict[str, Tool] = {}
    for name, entry in raw.items():
        kwargs = dict(entry)
        for key in (
            "binaries",
            "packages",
            "data",
            "artifacts",
            "exclude_groups",
            "exclude_artifacts",
            "debian_packages",
            "binary_dirs",
        ):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        tools[name] = Tool(name=name, **kwargs)
    return tools


def tool_cache_root() -> Path:
    """The cache outside the repository: $NIDC_TOOL_CACHE, or ~/.cache/nidc/tools."""
    configured = os.environ.get("NIDC_TOOL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "nidc" / "tools"


def tool_dir(tool: Tool, root: Path | None = None) -> Path:
    """The cache folder of one tool version: <cache>/<name>/<version>."""
    return (root or tool_cache_root()) / tool.name / tool.version


def stamp_path(tool: Tool, root: Path | None = None) -> Path:
    """The marker written last by a successful build; it holds the recipe hash."""
    return tool_dir(tool, root) / ".complete"


def is_built(tool: Tool, root: Path | None = None) -> bool:
    """True when the cache holds this exact recipe, completely built, every binary in place."""
    stamp = stamp_path(tool, root)
    if not stamp.is_file() or stamp.read_text().strip() != tool.recipe_hash():
        return False
    if tool.method == "class-archive" and not class_archive_path(root).is_file():
        return False  # built for another virtual environment's class path only
    # A binary deleted (or a dangling link) by hand means: build again.
    return all((tool_dir(tool, root) / "bin" / b).exists() for b in tool.binaries)


def binary_path(tool_name: str, binary: str | None = None, root: Path | None = None) -> Path:
    """Path of a built binary, e.g. binary_path("kubernetes", "kubectl")."""
    tool = load_manifest()[tool_name]
    return tool_dir(tool, root) / "bin" / (binary or tool.binaries[0])


def spark_jars(root: Path | None = None) -> list[Path]:
    """The jars the Spark jobs put on their classpath (Delta, S3A and the AWS SDK)."""
    tool = load_manifest()["spark-jars"]
    return sorted((tool_dir(tool, root) / "jars").glob("*.jar"))


def local_spark_jvm_options(root: Path | None = None) -> list[str]:
    """Driver JVM options of the embedded platform's Spark jobs (decision 0330).

    Its jobs are small and many, on a few cores: the client compiler alone (C1) spends a
    fraction of the tiered JIT's CPU on them, and the class-data archive, when built, maps the
    classes a job loads instead of loading them one by one. A cluster's jobs keep the JVM's
    defaults."""
    options = ["-XX:TieredStopAtLevel=1"]
    archive = class_archive_path(root)
    if archive.is_file():
        options.append(f"-XX:SharedArchiveFile={archive}")
    return options


def class_archive_path(root: Path | None = None) -> Path:
    """Where the class-data archive for this interpreter's Spark is (or goes).

    An archive only maps into a JVM with the class path it was written with: pyspark's own jars
    (in this virtual environment), then the spark-jars, on this JDK. The JVM checks each jar's
    path, size and modification time, and the JDK's runtime image, so the key holds them all: a
    virtual environment made again at the same path (a CI clone) gets an archive of its own.
    Each combination has its own file, so checkouts can share one tool cache."""
    found = importlib.util.find_spec("pyspark")
    pyspark = Path(found.origin).parent if found and found.origin else None
    java = Path(os.path.realpath(shutil.which("java") or "java"))
    jars = [*(sorted((pyspark / "jars").glob("*.jar")) if pyspark else []), *spark_jars(root)]
    parts = [str(pyspark), *map(file_identity, [java, java.parent.parent / "lib" / "modules"])]
    parts += map(file_identity, jars)
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return tool_dir(load_manifest()["spark-class-archive"], root) / f"spark-{key}.jsa"


def file_identity(path: Path) -> str:
    """Path, size and modification time (what the JVM compares of a class path's jars)."""
    try:
        found = path.stat()
    except OSError:
        return f"{path} absent"
    return f"{path} {found.st_size} {found.st_mtime_ns}"


def data_path(tool_name: str, file_name: str, root: Path | None = None) -> Path:
    """A data file a tool's build copied from its source (e.g. kwok's Stage definitions)."""
    return tool_dir(load_manifest()[tool_name], root) / "share" / file_name

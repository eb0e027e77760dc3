"""The tool builders' pure parts: replace directives, versions, the manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from nidc.local.tools.builders import (
    go_directive,
    jar_artifact,
    maven_pom,
    parse_replaces,
    replace_directives,
    staging_version,
)
from nidc.local.tools.manifest import Tool, load_manifest

pytestmark = pytest.mark.unit

GO_MOD = """module k8s.io/kubernetes

go 1.26.0

require k8s.io/api v0.0.0

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go // staging
)

replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0
replace example.com/old v1.0.0 => example.com/new v1.2.0
"""


def test_parse_replaces_reads_blocks_single_lines_and_versions() -> None:
    assert parse_replaces(GO_MOD) == [
        ("k8s.io/api", "./staging/src/k8s.io/api", ""),
        ("k8s.io/client-go", "./staging/src/k8s.io/client-go", ""),
        ("github.com/Shopify/sarama", "github.com/Shopify/sarama", "v1.33.0"),
        ("example.com/old", "example.com/new", "v1.2.0"),
    ]


def test_staging_modules_map_to_their_v0_release() -> None:
    assert staging_version("v1.37.2") == "v0.37.2"
    tool = Tool(
        "kubernetes",
        "v1.37.2",
        "k8s.io/kubernetes",
        "go-main-module",
        local_replace="kubernetes-staging",
    )
    assert replace_directives(tool, GO_MOD) == [
        "k8s.io/api => k8s.io/api v0.37.2",
        "k8s.io/client-go => k8s.io/client-go v0.37.2",
        "github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0",
        "example.com/old => example.com/new v1.2.0",
    ]


def test_local_replaces_take_the_same_version_or_an_explicit_one() -> None:
    go_mod = "module m\n\nreplace a/sdk/v3 => ../sdk\nreplace a/other => ../other\n"
    tool = Tool("x", "v3.1.0", "a/pkg/v3", "go-main-module", replace_versions={"a/other": "v0.9.0"})
    assert replace_directives(tool, go_mod) == [
        "a/sdk/v3 => a/sdk/v3 v3.1.0",
        "a/other => a/other v0.9.0",
    ]


def test_go_directive() -> None:
    assert go_directive(GO_MOD) == "1.26.0"


def test_maven_pom_lists_every_artifact() -> None:
    tool = Tool("jars", "1", "Maven Central", "maven", artifacts=("g:a:1", "h:b:2"))
    pom = maven_pom(tool)
    assert "<groupId>g</groupId><artifactId>a</artifactId><version>1</version>" in pom
    assert "<groupId>h</groupId><artifactId>b</artifactId><version>2</version>" in pom


def test_manifest_names_every_server_with_a_pinned_version() -> None:
    manifest = load_manifest()
    assert {
        "kubernetes",
        "etcd",
        "kwok",
        "minio",
        "openbao",
        "jaeger",
        "pulumi",
        "pulumi-language-python",
        "pulumi-resource-kubernetes",
        "spark-jars",
    } <= set(manifest)
    for tool in manifest.values():
        assert tool.version and "latest" not in tool.version, tool.name
    assert manifest["kubernetes"].binaries == (
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubectl",
    )
    # OpenBao must be >= 2.4.2 (the brief's floor).
    major, minor, patch = (int(p) for p in manifest["openbao"].version.split("."))
    assert (major, minor, patch) >= (2, 4, 2)


def test_recipe_hash_changes_with_the_recipe() -> None:
    a = Tool("t", "v1", "m", "go-main-module", packages=("cmd/a",))
    b = Tool("t", "v1", "m", "go-main-module", packages=("cmd/b",))
    assert a.recipe_hash() != b.recipe_hash()
    assert (
        a.recipe_hash() == Tool("t", "v1", "m", "go-main-module", packages=("cmd/a",)).recipe_hash()
    )


def test_jar_artifact_strips_versions_and_classifiers() -> None:
    assert jar_artifact("jackson-core-2.13.5.jar") == "jackson-core"
    assert jar_artifact("zstd-jni-1.5.7-3.jar") == "zstd-jni"
    assert jar_artifact("delta-spark_4.1_2.13-4.4.0.jar") == "delta-spark_4.1_2.13"
    assert jar_artifact("wildfly-openssl-2.1.4.Final.jar") == "wildfly-openssl"


def test_parse_depends_keeps_alternatives_and_drops_versions() -> None:
    from nidc.local.tools.builders import parse_depends

    field = "libc6 (>= 2.34), locales | locales-all, libfoo:any (= 1.0) [amd64], debconf-2.0"
    assert parse_depends(field) == [
        ["libc6"],
        ["locales", "locales-all"],
        ["libfoo"],
        ["debconf-2.0"],
    ]


def test_only_library_packages_are_fetched_for_a_cache_build() -> None:
    from nidc.local.tools.builders import is_library_package

    assert is_library_package("libcjson1")
    assert is_library_package("zlib1g")
    assert not is_library_package("adduser")
    assert not is_library_package("postgresql-common")


def test_debian_wrapper_paths_are_relative_and_libraries_first(tmp_path: Path) -> None:
    from nidc.local.tools.builders import debian_wrapper

    root = tmp_path / "root"
    (root / "usr/lib/x86_64-linux-gnu").mkdir(parents=True)
    (root / "usr/sbin").mkdir(parents=True)
    script = debian_wrapper(root / "usr/sbin/mosquitto", root, tmp_path / "bin")
    assert str(tmp_path) not in script  # survives the move from staging into the cache
    assert 'LD_LIBRARY_PATH="$here/../root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+' in script
    assert script.rstrip().endswith('exec "$here/../root/usr/sbin/mosquitto" "$@"')


def test_debian_wrapper_leaves_the_library_path_alone_without_libraries(tmp_path: Path) -> None:
    from nidc.local.tools.builders import debian_wrapper

    script = debian_wrapper(tmp_path / "root/usr/bin/x", tmp_path / "root", tmp_path / "bin")
    assert "LD_LIBRARY_PATH" not in script


def test_new_manifest_fields_leave_existing_recipes_unchanged() -> None:
    # Every checkout shares one tool cache: a hash change would rebuild every tool there.
    import hashlib
    import json
    from dataclasses import asdict

    from nidc.local.tools.manifest import LATER_FIELDS

    plain = Tool(name="etcd", version="v1", source="s", method="go-main-module")
    before_fields = {k: v for k, v in asdict(plain).items() if k not in LATER_FIELDS}
    digest = hashlib.sha256(json.dumps(before_fields, sort_keys=True).encode()).hexdigest()
    assert plain.recipe_hash() == digest[:16]
    with_debs = Tool(
        name="etcd", version="v1", source="s", method="go-main-module", debian_packages=("x",)
    )
    assert plain.recipe_hash() != with_debs.recipe_hash()


def test_a_class_archive_belongs_to_its_jars_sizes_and_times(tmp_path: Path) -> None:
    """The JVM refuses an archive whose jars changed size or time (a virtual environment made
    again at the same path): such a class path gets an archive path of its own."""
    import os

    from nidc.local.tools.manifest import class_archive_path, tool_dir

    jars = tool_dir(load_manifest()["spark-jars"], tmp_path) / "jars"
    jars.mkdir(parents=True)
    jar = jars / "delta-spark.jar"
    jar.write_bytes(b"one")
    first = class_archive_path(tmp_path)
    assert class_archive_path(tmp_path) == first
    os.utime(jar, ns=(jar.stat().st_atime_ns, jar.stat().st_mtime_ns + 1_000_000_000))
    touched = class_archive_path(tmp_path)
    jar.write_bytes(b"three")
    assert len({first, touched, class_archive_path(tmp_path)}) == 3
    assert first.parent == touched.parent and first.name.endswith(".jsa")

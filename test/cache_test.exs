defmodule Callconv.CacheTest do
  use ExUnit.Case, async: true

  alias Callconv.{Cache, Fixtures}

  @moduletag :tmp_dir

  # A fixture copied into the test's own directory, so that it can be changed.
  defp copy(tmp_dir, name) do
    path = Path.join([tmp_dir, "lib", name])
    File.mkdir_p!(Path.dirname(path))
    File.cp!(Fixtures.host(name), path)
    path
  end

  defp entries(dir), do: Path.wildcard(Path.join(dir, "*.etf"))

  test "a hit returns the report a fresh check returns", %{tmp_dir: tmp} do
    dir = Path.join(tmp, "cache")
    path = copy(tmp, "hello_nif.so")

    assert {{:ok, first}, :miss} = Cache.check(path, [], dir)
    assert [_] = entries(dir)
    assert {{:ok, hit}, :hit} = Cache.check(path, [], dir)
    assert {:ok, fresh} = Callconv.check(path, [])
    assert hit == first
    assert hit == fresh
    assert hit.functions != [] and hit.nif.module == "Elixir.Callconv.Fixtures.Hello"
  end

  test "a changed byte, target or option is a miss", %{tmp_dir: tmp} do
    dir = Path.join(tmp, "cache")
    path = copy(tmp, "hello_nif.so")
    assert {{:ok, before}, :miss} = Cache.check(path, [], dir)

    File.write!(path, <<0>>, [:append])
    assert {{:ok, changed}, :miss} = Cache.check(path, [], dir)
    assert changed.sha256 != before.sha256
    assert {{:ok, ^changed}, :hit} = Cache.check(path, [], dir)

    assert {{:ok, older}, :miss} = Cache.check(path, [nif_version: "2.15"], dir)
    assert Enum.any?(older.findings, &(&1.rule == "nif-version-too-new"))
    assert {{:ok, ^older}, :hit} = Cache.check(path, [nif_version: "2.15"], dir)

    assert {{:ok, exports}, :miss} = Cache.check(path, [analyse: :exports], dir)
    assert exports.mode == :exports
    assert length(entries(dir)) == 4
  end

  test "a corrupt, truncated or misplaced entry is a miss", %{tmp_dir: tmp} do
    dir = Path.join(tmp, "cache")
    path = copy(tmp, "hello_nif.so")
    assert {{:ok, report}, :miss} = Cache.check(path, [], dir)
    [entry] = entries(dir)
    good = File.read!(entry)

    # One flipped bit anywhere, the entry cut short, garbage, an empty file.
    last = byte_size(good) - 1
    <<head::binary-size(last), byte>> = good
    flipped = head <> <<Bitwise.bxor(byte, 1)>>

    for bad <- [flipped, binary_part(good, 0, div(byte_size(good), 2)), "not a term", ""] do
      File.write!(entry, bad)
      assert {{:ok, ^report}, :miss} = Cache.check(path, [], dir)
      assert File.read!(entry) == good
    end

    # A whole, valid entry of another key under this key's name.
    assert {{:ok, _}, :miss} = Cache.check(path, [nif_version: "2.15"], dir)
    [other] = entries(dir) -- [entry]
    File.cp!(other, entry)
    assert {{:ok, ^report}, :miss} = Cache.check(path, [], dir)

    # An unreadable directory: every lookup misses, the check still answers.
    assert {{:ok, ^report}, :miss} = Cache.check(path, [], Path.join(path, "not-a-dir"))
  end

  test "a needed library appearing where the loader looks is a miss", %{tmp_dir: tmp} do
    dir = Path.join(tmp, "cache")
    # RUNPATH $ORIGIN/deps, which the copy does not have yet.
    path = copy(tmp, "needs_dep_origin.so")
    assert {{:ok, missing}, :miss} = Cache.check(path, [], dir)
    assert Enum.any?(missing.findings, &(&1.rule == "needed-missing"))
    assert {{:ok, ^missing}, :hit} = Cache.check(path, [], dir)

    deps = Path.join(Path.dirname(path), "deps")
    File.mkdir_p!(deps)
    File.cp!(Fixtures.host("deps/libcallconv_dep.so.1"), Path.join(deps, "libcallconv_dep.so.1"))

    assert {{:ok, found}, :miss} = Cache.check(path, [], dir)
    refute Enum.any?(found.findings, &(&1.rule == "needed-missing"))
    assert {:ok, ^found} = Callconv.check(path, [])
  end

  test "errors, probes and sysroots are never cached", %{tmp_dir: tmp} do
    dir = Path.join(tmp, "cache")
    path = copy(tmp, "hello_nif.so")
    missing = Path.join(tmp, "missing.so")

    assert {{:error, %Callconv.Error{reason: :"not-found"}}, :uncached} =
             Cache.check(missing, [], dir)

    assert {{:ok, _}, :uncached} = Cache.check(path, [root: tmp], dir)
    assert {_, :uncached} = Cache.check(path, [probe: true], dir)
    assert {{:ok, _}, :uncached} = Cache.check(path, [module: Enum], dir)
    assert {{:ok, _}, :uncached} = Cache.check(path, [], nil)
    assert entries(dir) == []
  end

  test "the project scan goes through the cache", %{tmp_dir: tmp} do
    dir = Path.join(tmp, "cache")
    paths = [copy(tmp, "hello_nif.so"), copy(tmp, "needs_dep_missing.so")]

    first = Callconv.Scan.check(paths, [], %{}, cache: dir)
    assert length(entries(dir)) == 2
    assert Callconv.Scan.check(paths, [], %{}, cache: dir) == first
    assert Callconv.Scan.check(paths, [], %{}) == first
  end
end

defmodule Callconv.IsolationTest do
  # isolation: :process runs the check in callconv's own binary, outside the VM: the results
  # must be the same structs as through the NIF, for every file of the fixture corpus.
  use ExUnit.Case, async: true

  alias Callconv.Fixtures

  defp corpus do
    fixtures = Path.expand("fixtures", __DIR__)

    Enum.sort(
      Path.wildcard(Path.join(fixtures, "build/host/*.so")) ++
        Path.wildcard(Path.join(fixtures, "cross/*/*")) ++
        Path.wildcard(Path.join(fixtures, "rustler/out/*.so")) ++
        Path.wildcard(Path.join(:code.root_dir(), "lib/*/priv/lib/*.so"))
    )
  end

  @tag timeout: 300_000
  test "the same report, or the same error, both ways on the whole fixture corpus" do
    paths = corpus()
    assert length(paths) > 60

    for path <- paths ++ ["/nonexistent.so", "/dev/zero"] do
      assert Callconv.check(path) == Callconv.check(path, isolation: :process), path
    end
  end

  test "with the calling module and a runtime from the table, too" do
    path = Fixtures.host("custom_ok.so")
    opts = [module: "Elixir.Other", functions: [f: 0], otp_release: 23]
    in_vm = Callconv.check(path, opts)
    assert {:ok, %{verdict: :fail}} = in_vm
    assert in_vm == Callconv.check(path, [isolation: :process] ++ opts)
  end

  test "the platform facts and the target's OS version cross both ways, field by field" do
    # A field left out of one mirror (terms.rs, isolated.ex) becomes nil on that side only.
    cross = Path.expand("fixtures/cross", __DIR__)

    cases = [
      {"universal-macos/hello_nif.so", [triple: "aarch64-apple-darwin", min_os: "14.0"]},
      {"x86_64-windows-gnu/hello_nif.dll", [triple: "x86_64-pc-windows-msvc"]},
      {"arm-linux-gnueabihf/hello_nif.so", [triple: "armv7-unknown-linux-gnueabihf"]}
    ]

    reports =
      for {file, opts} <- cases do
        path = Path.join(cross, file)
        {:ok, in_vm} = Callconv.check(path, opts)
        assert {:ok, in_vm} == Callconv.check(path, [isolation: :process] ++ opts), file
        in_vm
      end

    [macho, pe, elf] = reports
    assert %{file_type: "dylib", min_os: "15.0", fixups: "opcodes"} = macho.macho

    assert [%{arch: :x86_64, primary: false}, %{arch: :aarch64, primary: true}] =
             macho.macho.slices

    assert Enum.any?(macho.findings, &(&1.rule == "macos-version-too-new"))
    assert {macho.elf, macho.pe} == {nil, nil}
    assert %{subsystem: "windows-gui", dynamic_base: true, delay_imports: []} = pe.pe
    assert {pe.elf, pe.macho} == {nil, nil}
    assert %{arm_eabi: 5, soname: nil, runpath: [], rpath: []} = elf.elf
    assert {elf.macho, elf.pe} == {nil, nil}
  end

  test "an unknown isolation is refused" do
    assert_raise ArgumentError, fn -> Callconv.check("x.so", isolation: :thread) end
  end
end

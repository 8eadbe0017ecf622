defmodule Mix.Tasks.Callconv.CheckTest do
  use ExUnit.Case

  alias Callconv.Fixtures

  defp run_task(args), do: Callconv.MixTask.run_check(args)

  test "text: a table per library, exit 0 when nothing fails" do
    {result, out} = run_task([Fixtures.host("hello_nif.so"), Fixtures.host("driver.so")])
    assert result == :ok
    assert out =~ "hello_nif.so  PASS"
    assert out =~ "NIF, module Elixir.Callconv.Fixtures.Hello, version 2.16, 3 functions"
    assert out =~ "[not-a-nif]"
    assert out =~ "2 checked, 2 passed, 0 warned, 0 failed"
  end

  test "--exports: every exported function of a plain C library, no NIF finding" do
    zlib =
      Enum.find(
        ["/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1"],
        &File.exists?/1
      )

    {result, out} = run_task(["--exports", "--format", "json", zlib])
    assert result == :ok
    assert out =~ ~s("mode": "exports")
    assert out =~ ~s("name": "deflate")
    assert out =~ ~s("x86_64-sysv")
    assert out =~ ~s("errors": 0)
    refute out =~ "not-a-nif"
  end

  test "exit status 1 when a library has an error finding or cannot be read" do
    {result, out} = run_task([Fixtures.host("custom_vm_variant.so")])
    assert result == {:exit, 1}
    assert out =~ "[nif-vm-variant]"

    {result, out} = run_task([Fixtures.host("truncated.so")])
    assert result == {:exit, 1}
    assert out =~ "malformed"
  end

  test "json: one document on stdout with the schema v1 keys" do
    {result, out} =
      run_task(["--format", "json", Fixtures.otp_nif("crypto-", "crypto.so"), "/nonexistent.so"])

    assert result == {:exit, 1}
    assert String.starts_with?(out, "{") and String.ends_with?(out, "}")

    for key <- ~w(schema callconv target libraries errors summary) do
      assert out =~ ~s("#{key}":)
    end

    assert out =~ ~s("module": "crypto")
    assert out =~ ~s("minor": 16)
    assert out =~ ~s("reason": "not-found")
    assert out =~ ~s("checked": 2)
    # The machine-code analysis of each entry point, as the command-line tool writes it.
    assert out =~ ~s("expected_convention": "x86_64-sysv")
    assert out =~ ~s("x86_64_level":)

    path = Fixtures.otp_nif("crypto-", "crypto.so")
    {:ok, report} = Callconv.check(path)
    # One per entry point (functions sharing code are analysed once).
    table = MapSet.new(report.nif.functions, &"#{&1.name}/#{&1.arity}")
    analysed = MapSet.new(report.functions, & &1.name)
    assert "nif_init" in analysed and "load" in analysed

    assert MapSet.subset?(
             analysed,
             MapSet.union(table, MapSet.new(~w(nif_init load upgrade unload)))
           )

    assert MapSet.size(analysed) > 60
  end

  test "--probe runs nif_init in the sandbox; --probe-unsandboxed says it ran without" do
    {result, out} = run_task(["--probe", Fixtures.host("hello_nif.so")])
    assert result == :ok
    assert out =~ "hello_nif.so  PASS"
    refute out =~ "nif-probe"

    {result, out} = run_task(["--probe-unsandboxed", Fixtures.host("hello_nif.so")])
    assert result == :ok
    assert out =~ "hello_nif.so  WARN"
    assert out =~ "[nif-probe-unsandboxed]"
  end

  test "--nif-version checks against another runtime" do
    {result, out} = run_task(["--nif-version", "2.14", Fixtures.host("hello_nif.so")])
    assert result == {:exit, 1}
    assert out =~ "[nif-version-too-new]"
  end

  test "--verbose adds the analysis of every entry point to the text" do
    path = Fixtures.host("hello_nif.so")
    {:ok, out} = run_task([path])
    refute out =~ "  function  "
    {result, out} = run_task(["--verbose", path])
    assert result == :ok
    # add/2 reads env and argv (rdi, rdx), not argc.
    assert out =~ ~r"  function  add/2 at 0x[0-9a-f]+: x86_64-sysv; reads rdi, rdx;"
    assert out =~ "  function  nif_init at "
    assert out =~ "  isa       x86-64-v1, features none"
  end

  test "--target checks for another platform" do
    arm64 = Path.expand("../../fixtures/cross/aarch64-linux-gnu/hello_nif.so", __DIR__)
    {result, out} = run_task([arm64])
    assert result == {:exit, 1}
    assert out =~ "[arch-mismatch]"

    {result, out} = run_task(["--target", "aarch64-unknown-linux-gnu", "--otp", "25", arm64])
    assert result == :ok, out
    assert out =~ "hello_nif.so  PASS"
  end

  test "--min-os and an Apple triple's version check a Mach-O's minimum macOS" do
    # The zig-built fixture needs macOS 15.0.
    mac = Path.expand("../../fixtures/cross/aarch64-macos/hello_nif.so", __DIR__)

    for args <- [
          ["--target", "aarch64-apple-darwin", "--min-os", "14.0"],
          ["--target", "aarch64-apple-macosx14.0"]
        ] do
      {result, out} = run_task(args ++ ["--otp", "25", mac])
      assert result == {:exit, 1}, out
      assert out =~ "[macos-version-too-new]"
    end

    {result, out} = run_task(["--target", "aarch64-apple-macosx15.0", "--otp", "25", mac])
    assert result == :ok, out
    refute out =~ "macos-version-too-new"
    error = assert_raise Mix.Error, fn -> run_task(["--min-os", "fifteen", mac]) end
    assert error.mix == 2
  end

  test "a directory is searched for native libraries" do
    dir = Path.dirname(Fixtures.host("hello_nif.so"))
    {_result, out} = run_task([dir])
    assert out =~ "hello_nif.so  PASS"
    assert out =~ "custom_duplicate.so  FAIL"
  end

  test "usage errors exit with status 2" do
    for args <- [
          ["--format", "xml", "x.so"],
          ["--bogus"],
          ["--nif-version", "two", "x.so"],
          ["--target", "z80-unknown-none", Fixtures.host("hello_nif.so")]
        ] do
      error = assert_raise Mix.Error, fn -> run_task(args) end
      # Elixir 1.14 keeps Mix.raise's exit_status in the :mix field.
      assert error.mix == 2
      assert error.message =~ "mix callconv.check"
    end
  end

  test "with no path it checks the priv directories of the build" do
    {_result, out} = run_task([])
    # Our own NIF, a Rustler library whose entry is built at run time.
    assert out =~ "libcallconv_nif.so"
    # Our own NIF is a Rustler 0.39 library; its entry is decoded statically (the table itself
    # is compared with Callconv.Native's stubs in rustler_fixtures_test.exs).
    nif = Application.app_dir(:callconv, "priv/native/libcallconv_nif.so")
    {:ok, %{nif: %{functions: functions}}} = Callconv.check(nif)

    assert out =~
             "kind      NIF, module Elixir.Callconv.Native, version 2.15, " <>
               "#{length(functions)} functions"

    refute out =~ "[nif-entry-unreadable]"
  end

  describe "CI output" do
    @describetag :tmp_dir

    test "--format github: one annotation per finding, relative paths" do
      {result, out} = run_task(["--format", "github", Fixtures.host("custom_vm_variant.so")])

      assert result == {:exit, 1}

      assert out =~
               "::error file=test/fixtures/build/host/custom_vm_variant.so,title=callconv nif-vm-variant::"

      assert out =~ "%0AFix: "
      assert out =~ "callconv: 1 checked, 0 passed, 0 warned, 1 failed"
    end

    test "--format sarif --output: a SARIF 2.1.0 log valid against the official schema",
         %{tmp_dir: dir} do
      file = Path.join(dir, "callconv.sarif")
      dir_of_fixtures = Path.dirname(Fixtures.host("hello_nif.so"))
      {result, out} = run_task(["--format", "sarif", "--output", file, dir_of_fixtures])
      assert result == {:exit, 1}
      assert out =~ "Wrote #{file}: "
      sarif = File.read!(file)
      assert sarif =~ ~s("version": "2.1.0")
      assert sarif =~ ~s("ruleId": "nif-vm-variant")
      assert sarif =~ ~s("ruleId": "library-unreadable")
      assert sarif =~ ~s("uri": "test/fixtures/build/host/custom_vm_variant.so")

      case Callconv.SarifSchema.validate(file) do
        :ok -> :ok
        {:skip, why} -> IO.puts(:stderr, "SARIF schema validation skipped: #{why}")
        {:error, errors} -> flunk("SARIF log is not valid SARIF 2.1.0:\n" <> errors)
      end
    end
  end

  describe "policy" do
    @describetag :tmp_dir

    test "--ignore RULE and RULE:PATH drop findings; an unknown rule is a usage error" do
      path = Fixtures.host("custom_vm_variant.so")
      assert {:ok, _} = run_task(["--ignore", "nif-vm-variant", path]) |> ok_result()

      assert {:ok, _} =
               run_task(["--ignore", "nif-vm-variant:host/custom_*.so", path]) |> ok_result()

      assert {{:exit, 1}, _} = run_task(["--ignore", "nif-vm-variant:other.so", path])

      error = assert_raise Mix.Error, fn -> run_task(["--ignore", "no-such-rule", path]) end
      assert error.mix == 2
    end

    test "--locked: exit 3 when only the lock differs; --lockfile names it", %{tmp_dir: dir} do
      lockfile = Path.join(dir, "callconv.lock")
      path = Fixtures.host("hello_nif.so")

      Mix.Task.reenable("callconv.lock")
      Mix.Tasks.Callconv.Lock.run(["--lockfile", lockfile, path])
      assert {:ok, _} = run_task(["--lockfile", lockfile, path]) |> ok_result()

      {result, out} = run_task(["--lockfile", lockfile, Fixtures.host("custom_ok.so")])
      assert result == {:exit, 3}
      assert out =~ "[lock-not-locked]"

      error =
        assert_raise Mix.Error, fn ->
          run_task(["--lockfile", Path.join(dir, "missing.lock"), path])
        end

      assert error.mix == 2
    end

    test "--release: an assembled release directory, checked against its ERTS", %{tmp_dir: dir} do
      priv = Path.join(dir, "rel/lib/my_app-0.1.0/priv/native")
      File.mkdir_p!(priv)
      File.cp!(Fixtures.host("hello_nif.so"), Path.join(priv, "libmy.so"))
      erts = Path.join(:code.root_dir(), "erts-#{:erlang.system_info(:version)}")
      File.ln_s!(erts, Path.join(dir, "rel/erts-#{:erlang.system_info(:version)}"))

      {result, out} = run_task(["--release", Path.join(dir, "rel")])
      assert result == :ok
      assert out =~ "libmy.so  PASS"

      error = assert_raise Mix.Error, fn -> run_task(["--release", dir]) end
      assert error.mix == 2
    end
  end

  defp ok_result({:ok, out}), do: {:ok, out}
  defp ok_result({result, out}), do: {result, out}

  test "--isolate gives the same document as the NIF" do
    paths = [Fixtures.host("hello_nif.so"), Fixtures.host("custom_duplicate.so")]
    {result, in_vm} = run_task(["--format", "json" | paths])
    assert {result, in_vm} == run_task(["--format", "json", "--isolate" | paths])
    assert in_vm =~ "nif-duplicate-function"
  end

  @tag :tmp_dir
  test "--module and --ebin check a NIF against a module compiled elsewhere", %{tmp_dir: dir} do
    path = Fixtures.host("custom_ok.so")
    {result, out} = run_task(["--module", "Other.Mod", path])
    assert result == {:exit, 1}
    assert out =~ "[nif-module-mismatch]"

    # A Custom module without g/1: the BEAM would say "Function not found".
    erl = Path.join(dir, "Elixir.Callconv.Fixtures.Custom.erl")
    File.write!(erl, "-module('Elixir.Callconv.Fixtures.Custom').\n-export([f/0]).\nf() -> 1.\n")
    {_, 0} = System.cmd("erlc", ["-o", dir, erl])
    {result, out} = run_task(["--ebin", dir, path])
    assert result == {:exit, 1}
    assert out =~ "[nif-function-not-in-module]"
    assert out =~ "g/1"
  end
end

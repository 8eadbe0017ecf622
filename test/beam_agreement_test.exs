defmodule Callconv.BeamAgreementTest do
  @moduledoc """
  callconv's verdict against the real BEAM: for each fixture, a separate `erl` defines the
  calling module and calls `:erlang.load_nif/2`; the outcome (loaded, refused with which
  reason, or crashed) must match callconv's verdict and rule, case by case.
  """
  use ExUnit.Case, async: true

  alias Callconv.Fixtures

  @moduletag :tmp_dir
  @moduletag timeout: 120_000

  @hello {"Elixir.Callconv.Fixtures.Hello", [hello: 0, add: 2, read: 1]}
  @custom {"Elixir.Callconv.Fixtures.Custom", [f: 0, g: 1]}
  @rustler {"Elixir.Callconv.Fixtures.Rustler",
            [add: 2, hello: 0, busy: 1, io_wait: 3, renamed: 1]}
  @interposable {"Elixir.Callconv.Fixtures.Interposable", [compress: 1]}

  # {fixture, calling module, what the real BEAM does, the rule callconv must report}
  @cases [
    {"hello_nif.so", @hello, :ok, nil},
    {"custom_ok.so", @custom, :ok, nil},
    {"custom_too_new.so", @custom, {:bad_lib, "NIF library needs"}, "nif-version-too-new"},
    {"custom_null_min_erts.so", @custom, :crash, "nif-min-erts-null"},
    {"custom_major_3.so", @custom, {:bad_lib, "NIF library needs"}, "nif-major-version"},
    {"custom_v2_5.so", @custom, {:bad_lib, "is not compatible"}, "nif-version-2-5"},
    {"custom_vm_variant.so", @custom, {:bad_lib, "vm variant"}, "nif-vm-variant"},
    {"custom_bad_flags.so", @custom, {:bad_lib, "Illegal flags"}, "nif-illegal-flags"},
    {"custom_duplicate.so", @custom, {:bad_lib, "Duplicate NIF entry"}, "nif-duplicate-function"},
    {"custom_arity.so", @custom, {:bad_lib, "Function not found"}, "nif-arity-too-large"},
    {"custom_ok.so", {"Elixir.Other", [f: 0, g: 1]}, {:bad_lib, "does not match calling module"},
     "nif-module-mismatch"},
    {"custom_ok.so", {"Elixir.Callconv.Fixtures.Custom", [f: 0]},
     {:bad_lib, "Function not found"}, "nif-function-not-in-module"},
    {"driver.so", @custom, {:bad_lib, "Failed to find library init function"}, "not-a-nif"},
    {"plain_lib.so", @custom, {:bad_lib, "Failed to find library init function"}, "not-a-nif"},
    {"custom_hidden_init.so", @custom, {:bad_lib, "Failed to find library init function"},
     "nif-init-not-exported"},
    {"new_api.so", @custom, {:load_failed, "undefined symbol: enif_set_option"}, "enif-missing"},
    {"needs_dep_missing.so", @custom, {:load_failed, "cannot open shared object file"},
     "needed-missing"},
    {"needs_dep_origin.so", @custom, :ok, nil},
    # Loads on this glibc (2.36); callconv warns (exec-stack, rwx-segment) but does not refuse.
    {"exec_stack.so", @hello, :ok, nil},
    {"rwx_segment.so", @hello, :ok, nil},
    {"truncated.so", @hello, :refused_or_crash, :malformed},
    # Rustler 0.34 with nif_version_2_17: its entry ends before min_erts, which OTP 25 reads
    # (past the entry) to word its "too new" refusal.
    {{:rustler, "0.34.0-nif2_17-strip.so"}, @rustler, :crash, "nif-entry-short"},
    # NIFs linked as programs: glibc's dlopen refuses executables and PIEs.
    {"exe_fixed.so", @hello, {:load_failed, "cannot dynamically load executable"},
     "not-a-shared-object"},
    {"exe_pie.so", @hello,
     {:load_failed, "cannot dynamically load position-independent executable"},
     "not-a-shared-object"},
    # Loads: exports a bundled library's names (a warning), or has no RELRO (information).
    {"interposable.so", @interposable, :ok, nil},
    {"norelro.so", @hello, :ok, nil},
    # Loads, but its own enif_alloc stub (bound to itself by -Bsymbolic) is what it calls.
    {"enif_defined.so", @interposable, :ok, "enif-defined"}
  ]

  for {{fixture, {module, functions}, real, rule}, index} <- Enum.with_index(@cases) do
    @tag case: index
    name = with {:rustler, so} <- fixture, do: "rustler/#{so}"

    test "#{name} loaded from #{module}: #{inspect(real)}", %{tmp_dir: dir} do
      fixture = unquote(fixture)
      module = unquote(module)
      functions = unquote(functions)

      path =
        case fixture do
          {:rustler, name} -> Path.expand("fixtures/rustler/out/#{name}", __DIR__)
          name -> Fixtures.host(name)
        end

      outcome = real_load(dir, module, functions, path)
      verdict = Callconv.check(path, module: module, functions: with_module_info(functions))

      assert_outcome(outcome, unquote(Macro.escape(real)))
      assert_verdict(verdict, unquote(rule))
    end
  end

  test "cases that need another OTP release are judged against the built-in table" do
    path = Fixtures.host("hello_nif.so")
    # NIF 2.16 on OTP 23 (2.15): the real OTP 23 says "needs erts-12.0 or newer".
    assert {:ok, %{verdict: :fail, findings: [%{rule: "nif-version-too-new"}]}} =
             Callconv.check(path, otp_release: 23)

    # enif_set_option exists from OTP 26 on.
    assert {:ok, %{verdict: :pass}} = Callconv.check(Fixtures.host("new_api.so"), otp_release: 26)
  end

  # The real loader's symbol-version check against callconv's under a root holding the same
  # library: the BEAM finds libcallconv_ver.so.1 through LD_LIBRARY_PATH, callconv in the root.
  test "needs_ver.so: version `CALLCONV_2.0' not found with release 1, loads with release 2",
       %{tmp_dir: dir} do
    {module, functions} = @custom
    path = Fixtures.host("needs_ver.so")

    for {release, real, rule} <- [
          {1, {:load_failed, "version `CALLCONV_2.0' not found"}, "symbol-version-missing"},
          {2, :ok, nil}
        ] do
      lib_dir = Path.dirname(Fixtures.host("ver#{release}/libcallconv_ver.so.1"))
      root = Path.join(dir, "root#{release}")
      File.mkdir_p!(Path.join(root, "usr/lib"))

      File.cp!(
        Path.join(lib_dir, "libcallconv_ver.so.1"),
        Path.join(root, "usr/lib/libcallconv_ver.so.1")
      )

      outcome = real_load(dir, module, functions, path, [{"LD_LIBRARY_PATH", lib_dir}])

      verdict =
        Callconv.check(path, module: module, functions: with_module_info(functions), root: root)

      assert_outcome(outcome, real)
      assert_verdict(verdict, rule)
    end
  end

  defp with_module_info(functions) do
    functions ++ [load: 1, module_info: 0, module_info: 1]
  end

  # Compiles the calling module and runs load_nif in a fresh VM, which may crash.
  defp real_load(dir, module, functions, path, env \\ []) do
    exports = Enum.map_join([{:load, 1} | functions], ", ", fn {f, a} -> "#{f}/#{a}" end)

    stubs =
      Enum.map_join(functions, "\n", fn {f, a} ->
        args = Enum.map_join(1..a//1, ", ", &"_A#{&1}")
        "#{f}(#{args}) -> erlang:nif_error(not_loaded)."
      end)

    source = """
    -module('#{module}').
    -export([#{exports}]).
    load(Path) -> erlang:load_nif(Path, 0).
    #{stubs}
    """

    erl_file = Path.join(dir, module <> ".erl")
    File.write!(erl_file, source)
    {_, 0} = System.cmd("erlc", ["-o", dir, erl_file], stderr_to_stdout: true)

    expr = "R = '#{module}':load(\"#{Path.rootname(path)}\"), io:format(\"~p~n\", [R]), halt()."

    case System.cmd("erl", ["-noshell", "-pa", dir, "-eval", expr],
           stderr_to_stdout: true,
           env: env
         ) do
      {out, 0} -> parse_outcome(out)
      {_out, status} when status > 128 -> {:crash, status - 128}
      {out, status} -> flunk("erl exited with #{status}: #{out}")
    end
  end

  defp parse_outcome(out) do
    cond do
      String.trim(out) == "ok" -> :ok
      out =~ ~r/^\{error,\{(\w+),/ -> {:error, out}
      true -> flunk("unexpected load_nif output: #{out}")
    end
  end

  defp assert_outcome(:ok, :ok), do: :ok
  defp assert_outcome({:crash, _signal}, :crash), do: :ok
  defp assert_outcome({:crash, _signal}, :refused_or_crash), do: :ok
  defp assert_outcome({:error, _}, :refused_or_crash), do: :ok

  defp assert_outcome({:error, out}, {reason, text}) do
    assert out =~ "{error,{#{reason},"
    assert out =~ text
  end

  defp assert_outcome(outcome, expected) do
    flunk("the real BEAM gave #{inspect(outcome)}, expected #{inspect(expected)}")
  end

  defp assert_verdict({:ok, report}, nil) do
    assert report.verdict != :fail,
           "callconv refused a library the BEAM loads: #{inspect(report.findings)}"
  end

  defp assert_verdict({:error, error}, :malformed), do: assert(error.reason == :malformed)

  defp assert_verdict({:ok, report}, rule) when is_binary(rule) do
    assert report.verdict == :fail
    rules = for f <- report.findings, f.severity == :error, do: f.rule
    assert rule in rules, "expected #{rule}, callconv said #{inspect(report.findings)}"
  end

  defp assert_verdict(other, rule) do
    flunk("callconv gave #{inspect(other)}, expected rule #{inspect(rule)}")
  end
end

defmodule Callconv.RustlerFixturesTest do
  @moduledoc """
  Ground truth for the Rustler decoder: each committed Rustler fixture
  (test/fixtures/rustler/out, built by test/fixtures/rustler/build.sh) is loaded for real by a
  separate `erl` through a module with matching stubs, every NIF is called, and what the real
  BEAM accepts and runs is compared with the table `Callconv.check/2` decodes statically.
  """
  use ExUnit.Case, async: true

  @moduletag :tmp_dir
  @moduletag timeout: 180_000

  @out Path.expand("fixtures/rustler/out", __DIR__)
  @module "Elixir.Callconv.Fixtures.Rustler"

  # test/fixtures/rustler/nifs.rs: name, arity, flags (1 DirtyCpu, 2 DirtyIo), a call and
  # its result.
  @nifs [
    {"add", 2, 0, "add(2, 3)", "5"},
    {"hello", 0, 0, "hello()", "<<\"hello from rustler\">>"},
    {"busy", 1, 1, "busy(4)", "6"},
    {"io_wait", 3, 2, "io_wait(2, 3, 4)", "10"},
    {"renamed", 1, 0, "renamed(7)", "-7"}
  ]

  # Committed variants; the unstripped ones are checked too when build.sh has made them.
  @fixtures for v <- ["0.30.0", "0.34.0", "0.36.2", "0.39.0"],
                variant <- ["strip", "lto-strip", "plain", "lto"],
                do: {v, variant}

  for {version, variant} <- @fixtures do
    @tag fixture: "#{version}-#{variant}"
    test "rustler #{version} (#{variant}) loads and runs as decoded", %{tmp_dir: dir} do
      version = unquote(version)
      path = Path.join(@out, "#{version}-#{unquote(variant)}.so")

      if unquote(variant) in ["plain", "lto"] and not File.exists?(path) do
        :ok
      else
        functions = for {name, arity, _, _, _} <- @nifs, do: {name, arity}

        # The real BEAM: loads it, and every NIF of the module answers.
        results = real_load(dir, @module, functions, path)
        assert results["load"] == "ok"

        for {name, _arity, _flags, _call, expected} <- @nifs do
          assert results[name] == "{ok,#{expected}}", "#{name}: #{inspect(results)}"
        end

        # callconv: the same table, statically, with the flags the source declares.
        assert {:ok, report} =
                 Callconv.check(path,
                   module: @module,
                   functions: [{"load", 1}, {"module_info", 0}, {"module_info", 1} | functions]
                 )

        # OTP 25 accepts NIF 2.15, so the min_erts that Rustler <= 0.36 lacks is never read.
        {verdict, rules} =
          if version == "0.39.0", do: {:pass, []}, else: {:warn, ["nif-entry-short"]}

        assert report.verdict == verdict, inspect(report.findings)
        assert Enum.map(report.findings, & &1.rule) == rules
        nif = report.nif
        assert nif.module == @module
        assert {nif.major, nif.minor} == {2, 15}
        assert nif.decoded_by == "static:rustler-#{version}"
        assert nif.load and not nif.reload and not nif.upgrade and not nif.unload
        assert nif.min_erts == if(version == "0.39.0", do: "OTP-22.0", else: nil)

        decoded = Enum.sort(for f <- nif.functions, do: {to_string(f.name), f.arity, f.flags})
        assert decoded == Enum.sort(for {n, a, fl, _, _} <- @nifs, do: {n, a, fl})
        # Every decoded function is one the real module runs as a NIF.
        assert Enum.sort(for {n, a, _} <- decoded, do: {n, a}) == Enum.sort(functions)
      end
    end
  end

  for version <- ["0.30.0", "0.34.0", "0.36.2", "0.39.0"] do
    test "rustler #{version}: a module without renamed/1 is refused by both", %{tmp_dir: dir} do
      path = Path.join(@out, "#{unquote(version)}-strip.so")
      functions = for {name, arity, _, _, _} <- @nifs, name != "renamed", do: {name, arity}

      results = real_load(dir, @module, functions, path)
      assert results["load"] =~ "error bad_lib "
      assert results["load"] =~ "renamed/1"

      assert {:ok, report} =
               Callconv.check(path,
                 module: @module,
                 functions: [{"load", 1}, {"module_info", 0}, {"module_info", 1} | functions]
               )

      assert report.verdict == :fail
      rules = for f <- report.findings, f.severity == :error, do: f.rule
      assert "nif-function-not-in-module" in rules, inspect(report.findings)
    end
  end

  test "callconv's own NIF decodes to the NIFs Callconv.Native declares" do
    path = Path.join(:code.priv_dir(:callconv), "native/libcallconv_nif.so")

    assert {:ok, report} = Callconv.check(path, module: Callconv.Native)
    assert report.verdict == :pass, inspect(report.findings)
    assert report.nif.module == "Elixir.Callconv.Native"
    assert report.nif.decoded_by =~ "static:rustler-"

    decoded = Enum.sort(for f <- report.nif.functions, do: {to_string(f.name), f.arity})
    assert decoded == nif_stubs(Callconv.Native)
    # Every stub is one of the module's functions (the NIF's load would refuse it otherwise).
    exported = for {f, a} <- Callconv.Native.__info__(:functions), do: {Atom.to_string(f), a}
    assert decoded -- exported == []
  end

  # The functions of `module` whose every clause is an `:erlang.nif_error/1` stub, read from
  # its debug info (Elixir 1.14 writes no -nifs attribute).
  defp nif_stubs(module) do
    {:ok, {^module, [debug_info: {:debug_info_v1, backend, data}]}} =
      :beam_lib.chunks(:code.which(module), [:debug_info])

    {:ok, %{definitions: definitions}} = backend.debug_info(:elixir_v1, module, data, [])

    stubs =
      for {{name, arity}, :def, _meta, clauses} <- definitions,
          clauses != [],
          Enum.all?(clauses, fn {_meta, _args, _guards, body} -> nif_error?(body) end),
          do: {Atom.to_string(name), arity}

    assert stubs != [], "no NIF stubs found in #{inspect(module)}"
    Enum.sort(stubs)
  end

  defp nif_error?({{:., _, [:erlang, :nif_error]}, _, [_]}), do: true
  # Callconv.Native's stubs load the library on first call: loaded(fn -> name(args) end).
  defp nif_error?({:loaded, _, [{:fn, _, [{:->, _, [[], {name, _, args}]}]}]})
       when is_atom(name) and is_list(args),
       do: true

  defp nif_error?(_), do: false

  # Compiles the calling module, loads the library in a fresh VM and calls every NIF; returns
  # %{"load" => "ok" | "error Reason Text", name => "{ok,Value}" | "{error,...}"}.
  defp real_load(dir, module, functions, path) do
    exports = Enum.map_join([{"load", 1} | functions], ", ", fn {f, a} -> "#{f}/#{a}" end)

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

    File.write!(Path.join(dir, module <> ".erl"), source)

    {_, 0} =
      System.cmd("erlc", ["-o", dir, Path.join(dir, module <> ".erl")], stderr_to_stdout: true)

    # Each try gets its own variables: erl_eval refuses a reused one ("unsafe_var").
    calls =
      for {{name, arity, _, call, _}, i} <- Enum.with_index(@nifs), {name, arity} in functions do
        "io:format(\"#{name} ~p~n\", " <>
          "[try {ok, '#{module}':#{call}} catch C#{i}:E#{i} -> {error, C#{i}, E#{i}} end])"
      end

    expr =
      Enum.join(
        [
          "R = '#{module}':load(\"#{Path.rootname(path)}\")",
          "case R of {error, {Why, Text}} -> io:format(\"load error ~w ~s~n\", [Why, Text]); " <>
            "_ -> io:format(\"load ~w~n\", [R]) end"
        ] ++
          calls ++ ["halt()"],
        ", "
      ) <> "."

    {out, 0} = System.cmd("erl", ["-noshell", "-pa", dir, "-eval", expr], stderr_to_stdout: true)

    for line <- String.split(out, "\n", trim: true), into: %{} do
      case String.split(line, " ", parts: 2) do
        [key, value] -> {key, value}
        [key] -> {key, ""}
      end
    end
  end
end

defmodule Callconv.NifFactsTest do
  # OTP 25's -nifs through every door (Callconv.check/2, Callconv.Scan, mix callconv.check,
  # the guard), against what the BEAM itself says, and --target of another word size.
  use ExUnit.Case

  import ExUnit.CaptureLog

  alias Callconv.{Report, Scan}

  @facts Path.expand("fixtures/nif_facts", __DIR__)

  defp fixture(path), do: Path.join(@facts, path)
  defp rules(%Report{findings: findings}), do: Enum.map(findings, & &1.rule)

  defp run_task(args), do: Callconv.MixTask.run_check(args)

  test "Scan reads the declared NIFs from the .beam's code" do
    assert Scan.beam_nifs(fixture("beam/with_nifs.beam")) == {:ok, [{"add", 2}]}
    assert Scan.beam_nifs(fixture("beam/without_nifs.beam")) == {:ok, false}
    assert Scan.beam_nifs(fixture("x86_64-linux-gnu/null_init.so")) == :error

    opts = Scan.module_check_opts(fixture("beam/with_nifs.beam"))
    assert opts[:nifs] == [{"add", 2}]
    assert {:sub, 2} in opts[:functions]
  end

  test "check/2 with :nifs refuses an undeclared NIF on OTP 25, not on OTP 24" do
    lib = fixture("x86_64-linux-gnu/two_nifs_with.so")
    opts = [module: "with_nifs", functions: [add: 2, sub: 2], nifs: [add: 2]]

    {:ok, report} = Callconv.check(lib, [otp_release: 25] ++ opts)
    assert report.verdict == :fail
    [finding] = Enum.filter(report.findings, &(&1.rule == "nif-not-declared"))
    assert finding.message =~ "Function not declared as nif with_nifs:sub/2"

    {:ok, report} = Callconv.check(lib, [otp_release: 24] ++ opts)
    refute "nif-not-declared" in rules(report)

    {:ok, report} =
      Callconv.check(lib, [otp_release: 25, nifs: false] ++ Keyword.delete(opts, :nifs))

    refute "nif-not-declared" in rules(report)

    # The isolated check (callconv's own executable) says the same.
    {:ok, isolated} = Callconv.check(lib, [otp_release: 25, isolation: :process] ++ opts)
    assert rules(isolated) == rules(Callconv.check!(lib, [otp_release: 25] ++ opts))
  end

  @tag :tmp_dir
  test "mix callconv.check --module/--ebin reads -nifs from the module's .beam", %{tmp_dir: dir} do
    File.cp!(fixture("beam/with_nifs.beam"), Path.join(dir, "with_nifs.beam"))
    File.cp!(fixture("beam/without_nifs.beam"), Path.join(dir, "without_nifs.beam"))
    with_lib = fixture("x86_64-linux-gnu/two_nifs_with.so")
    without_lib = fixture("x86_64-linux-gnu/two_nifs_without.so")

    {result, out} = run_task(["--otp", "25", "--ebin", dir, with_lib])
    assert result == {:exit, 1}
    assert out =~ "[nif-not-declared]"
    assert out =~ "with_nifs:sub/2"

    {result, out} = run_task(["--otp", "25", "--module", "with_nifs", "--ebin", dir, with_lib])
    assert result == {:exit, 1}
    assert out =~ "[nif-not-declared]"

    {result, out} = run_task(["--otp", "25", "--ebin", dir, without_lib])
    assert result == :ok, out
    refute out =~ "nif-not-declared"
  end

  # The BEAM's own verdict on the pair, in a fresh VM: what the rule predicts.
  @tag :tmp_dir
  test "the BEAM refuses the undeclared NIF as the rule says", %{tmp_dir: dir} do
    for name <- ~w(with_nifs without_nifs) do
      File.cp!(fixture("beam/#{name}.beam"), Path.join(dir, "#{name}.beam"))

      File.cp!(
        fixture("x86_64-linux-gnu/two_nifs_#{String.trim_trailing(name, "_nifs")}.so"),
        Path.join(dir, "#{name}.so")
      )
    end

    script = ~s|io:format("~p~n", [[with_nifs:load(), without_nifs:load()]]), halt().|
    {out, 0} = System.cmd("erl", ["-noshell", "-pa", dir, "-eval", script], cd: dir)
    assert out =~ "Function not declared as nif with_nifs:sub/2"
    assert out =~ "ok]"
  end

  @tag :tmp_dir
  test "the guard refuses a NIF its module does not declare (fresh VM, compiled module)",
       %{tmp_dir: dir} do
    ebin = Path.join(Mix.Project.build_path(), "lib/callconv/ebin")
    File.cp!(fixture("x86_64-linux-gnu/two_nifs_with.so"), Path.join(dir, "with_nifs.so"))

    source = Path.join(dir, "with_nifs.ex")

    File.write!(source, """
    defmodule :with_nifs do
      # Elixir 1.14 hands @nifs to the Erlang compiler only when it is persisted.
      Module.register_attribute(__MODULE__, :nifs, persist: true)
      @nifs [add: 2]
      require Callconv
      def load(path), do: Callconv.load_nif(path, 0)
      def add(_a, _b), do: :erlang.nif_error(:not_loaded)
      def sub(_a, _b), do: :erlang.nif_error(:not_loaded)
    end
    """)

    {_, 0} = System.cmd("elixirc", ["-pa", ebin, "-o", dir, source], stderr_to_stdout: true)
    assert Scan.beam_nifs(Path.join(dir, "with_nifs.beam")) == {:ok, [{"add", 2}]}

    script = "IO.inspect(:with_nifs.load(#{inspect(Path.join(dir, "with_nifs"))}))"

    {out, 0} =
      System.cmd("elixir", ["-pa", ebin, "-pa", dir, "-e", script], stderr_to_stdout: true)

    assert out =~ "nif-not-declared"
    assert out =~ ~r/\{:error,\s+\{:callconv,/
  end

  @tag :tmp_dir
  test "use Callconv.Guard: the .beam agrees with @nifs, and the guard refuses first",
       %{tmp_dir: dir} do
    ebin = Path.join(Mix.Project.build_path(), "lib/callconv/ebin")
    File.cp!(fixture("x86_64-linux-gnu/two_nifs_with.so"), Path.join(dir, "with_nifs.so"))
    source = Path.join(dir, "with_nifs.ex")

    File.write!(source, """
    defmodule :with_nifs do
      Module.register_attribute(__MODULE__, :nifs, persist: true)
      @nifs [add: 2]
      use Callconv.Guard, otp_app: :callconv, path: #{inspect(Path.join(dir, "with_nifs"))}
      def add(_a, _b), do: :erlang.nif_error(:not_loaded)
      def sub(_a, _b), do: :erlang.nif_error(:not_loaded)
    end
    """)

    # Inside the compiler no .beam is on disk yet: the guard claims nothing, and the BEAM's
    # own refusal is what the compiler reports.
    {out, 0} = System.cmd("elixirc", ["-pa", ebin, "-o", dir, source], stderr_to_stdout: true)
    assert out =~ "Function not declared as nif with_nifs:sub/2"
    refute out =~ "nif-not-declared"

    # Loaded from its .beam, as a release does: the guard refuses it with the rule.
    script = "IO.inspect(Code.ensure_loaded(:with_nifs))"

    {out, 0} =
      System.cmd("elixir", ["-pa", ebin, "-pa", dir, "-e", script], stderr_to_stdout: true)

    assert out =~ "[nif-not-declared] with_nifs:sub/2"
    assert out =~ "{:error, :on_load_failure}"
  end

  @tag :tmp_dir
  test "the guard trusts the .beam only where it agrees with @nifs", %{tmp_dir: dir} do
    File.cp!(fixture("beam/with_nifs.beam"), Path.join(dir, "with_nifs.beam"))
    Code.prepend_path(dir)

    try do
      assert Callconv.Guard.__declared_nifs__(:with_nifs, [{"add", 2}]) == [{"add", 2}]
      # @nifs that never reached the compiler, or an older .beam: nothing is claimed.
      assert Callconv.Guard.__declared_nifs__(:with_nifs, false) == false
      assert Callconv.Guard.__declared_nifs__(:with_nifs, [{"add", 2}, {"sub", 2}]) == false
      assert Callconv.Guard.__declared_nifs__(:no_such_module_here, [{"add", 2}]) == false
    after
      Code.delete_path(dir)
    end
  end

  test "a nif_init that returns NULL is refused by the guard" do
    log =
      capture_log(fn ->
        assert {:error, {:callconv, report}} =
                 Callconv.Guard.verify(:null_init, fixture("x86_64-linux-gnu/null_init"))

        assert "nif-init-null" in rules(report)
      end)

    assert log =~ "Library init-call unsuccessful"
  end

  test "a 32-bit target takes the *int64 functions from the table, not from this VM" do
    lib = fixture("x86-linux-gnu/int64_nif.so")
    {:ok, report} = Callconv.check(lib, triple: "i686-unknown-linux-gnu")
    refute "enif-missing" in rules(report)
    refute "enif-defined" in rules(report)

    {:ok, target} = Callconv.target(triple: "i686-unknown-linux-gnu")
    assert "enif_get_int64" in target.enif_exports
    refute "enif_get_int64" in Callconv.Target.current().enif_exports
  end
end

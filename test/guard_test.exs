defmodule Callconv.GuardTest do
  # Not async: it loads NIFs into Callconv.Fixtures.Custom and reads the log.
  use ExUnit.Case

  import ExUnit.CaptureLog

  alias Callconv.{Fixtures, Guard, Lock, Report}

  doctest Callconv.Guard
  doctest Callconv.Policy

  # Every refused fixture of the BEAM-agreement suite (test/beam_agreement_test.exs).
  @broken ~w(custom_too_new custom_null_min_erts custom_major_3 custom_v2_5 custom_vm_variant
             custom_bad_flags custom_duplicate custom_arity custom_hidden_init new_api driver
             plain_lib needs_dep_missing)

  defp base(name), do: Path.rootname(Fixtures.host(name <> ".so"))

  test "use Callconv.Guard: @on_load checks custom_ok.so and loads it" do
    assert Callconv.Fixtures.Custom.f() == 1
    assert Callconv.Fixtures.Custom.g(:x) == :x
  end

  test "every broken fixture is refused, logged, and the VM keeps running" do
    # Make sure the good library is in first: refusals must not disturb it.
    assert Callconv.Fixtures.Custom.f() == 1

    for name <- @broken do
      log =
        capture_log(fn ->
          assert {:error, {:callconv, %Report{verdict: :fail} = report}} =
                   Callconv.Fixtures.Custom.load(base(name))

          assert Report.findings(report, :error) != []
        end)

      assert log =~ "callconv: refused to load"
      assert log =~ name
    end

    log =
      capture_log(fn ->
        assert {:error, {:callconv, %Callconv.Error{reason: :malformed}}} =
                 Callconv.Fixtures.Custom.load(base("truncated"))
      end)

    assert log =~ "truncated.so"
    assert Callconv.Fixtures.Custom.f() == 1
  end

  test "a library for another module is refused (the BEAM would say bad_lib)" do
    capture_log(fn ->
      assert {:error, {:callconv, report}} = Guard.verify(SomeOther.Module, base("custom_ok"))
      assert "nif-module-mismatch" in Enum.map(report.findings, & &1.rule)
    end)
  end

  test "hello_nif.so loads into Callconv.Fixtures.Hello through the guard (fresh VM)" do
    ebin = Path.join(Mix.Project.build_path(), "lib/callconv/ebin")

    script = """
    defmodule Callconv.Fixtures.Hello do
      require Callconv
      def load(path), do: Callconv.load_nif(path, 0)
      def hello, do: :erlang.nif_error(:not_loaded)
      def add(_a, _b), do: :erlang.nif_error(:not_loaded)
      def read(_x), do: :erlang.nif_error(:not_loaded)
    end

    IO.inspect({Callconv.Fixtures.Hello.load(#{inspect(base("hello_nif"))}), Callconv.Fixtures.Hello.hello()})
    """

    {out, 0} = System.cmd("elixir", ["-pa", ebin, "-e", script], stderr_to_stdout: true)
    assert out =~ "{:ok, :world}"
  end

  test "ignore, strict and on_warning" do
    assert {:ok, _} = Guard.verify(Callconv.Fixtures.Custom, base("custom_ok"), log: false)

    {:error, {:callconv, report}} =
      Guard.verify(Callconv.Fixtures.Custom, base("custom_too_new"), log: false)

    rules = report.findings |> Enum.filter(&(&1.severity == :error)) |> Enum.map(& &1.rule)

    assert {:ok, _} =
             Guard.verify(Callconv.Fixtures.Custom, base("custom_too_new"),
               ignore: rules,
               log: false
             )

    assert_raise ArgumentError, fn ->
      Guard.verify(Callconv.Fixtures.Custom, base("custom_ok"), on_warning: :maybe)
    end
  end

  @tag :tmp_dir
  test "lockfile: a locked hash loads, a changed or unlocked one is refused", %{tmp_dir: dir} do
    {:ok, report} = Callconv.check(Fixtures.host("custom_ok.so"))
    key = Lock.key(Fixtures.host("custom_ok.so"), File.cwd!())
    lockfile = Path.join(dir, "callconv.lock")

    Lock.write!(lockfile, [Lock.entry(report, key, 1)])

    assert {:ok, _} =
             Guard.verify(Callconv.Fixtures.Custom, base("custom_ok"), lockfile: lockfile)

    Lock.write!(lockfile, [Lock.entry(%{report | sha256: String.duplicate("0", 64)}, key, 1)])

    log =
      capture_log(fn ->
        assert {:error, {:callconv, refused}} =
                 Guard.verify(Callconv.Fixtures.Custom, base("custom_ok"), lockfile: lockfile)

        assert [%{rule: "lock-hash-changed", message: message}] = refused.findings
        assert message =~ "callconv.lock approved 0000000000000000"
      end)

    assert log =~ "lock-hash-changed"

    Lock.write!(lockfile, [])

    capture_log(fn ->
      assert {:error, {:callconv, refused}} =
               Guard.verify(Callconv.Fixtures.Custom, base("custom_ok"), lockfile: lockfile)

      assert [%{rule: "lock-not-locked"}] = refused.findings
    end)
  end

  test "verdicts are cached by file identity" do
    path = base("plain_lib")
    Guard.clear_cache()
    capture_log(fn -> Guard.verify(Some.Module, path, log: false) end)

    cached =
      for {{Callconv.Guard.Cache, {file, _, _, _, _, Some.Module, _}}, report} <-
            :persistent_term.get(),
          do: {file, report.sha256}

    assert [{file, sha}] = cached
    assert file == path <> ".so"
    assert String.length(sha) == 64

    # Whether the warm call used the cache is shown by what it returns, not by how fast it
    # was: Some.Module cannot load a plain library (not-a-nif), but a passing verdict planted
    # under the file's key lets it through, which only a cache hit can do.
    [key] = for {{Callconv.Guard.Cache, _} = key, _} <- :persistent_term.get(), do: key
    :persistent_term.put(key, %{:persistent_term.get(key) | verdict: :pass, findings: []})
    assert {:ok, _} = Guard.verify(Some.Module, path, log: false)

    # cache: false checks the file again, and refuses it.
    assert {:error, {:callconv, %{findings: [%{rule: "not-a-nif"}]}}} =
             Guard.verify(Some.Module, path, log: false, cache: false)

    Guard.clear_cache()
  end

  test "a refusal is logged once, however often the module is loaded again" do
    # A module whose @on_load fails is loaded again at its next call; the same refusal must
    # not fill the log each time.
    path = base("plain_lib")

    log =
      capture_log(fn ->
        for _ <- 1..3 do
          assert {:error, {:callconv, report}} = Guard.verify(Logged.Once, path)
          assert Guard.__brief__(report) == "refused plain_lib.so: not-a-nif (logged above)"
        end
      end)

    assert length(String.split(log, "callconv: refused to load")) == 2
    refute log =~ "%Callconv.Report{"
  end
end

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

  @tag :tmp_dir
  test "a missing or unreadable lockfile is a refusal naming the file and the command",
       %{tmp_dir: dir} do
    missing = Path.join(dir, "priv/callconv.lock")

    log =
      capture_log(fn ->
        assert {:error, {:callconv, %Callconv.Error{reason: :io, path: ^missing} = error}} =
                 Guard.verify(Callconv.Fixtures.Custom, base("custom_ok"), lockfile: missing)

        assert error.message =~ "could not read #{missing}"
        assert error.message =~ "run mix callconv.lock to write it"
      end)

    assert log =~
             "callconv: refused to load #{base("custom_ok")}.so into Callconv.Fixtures.Custom"

    assert log =~ "run mix callconv.lock to write it"
    refute log =~ "truncated or malformed"

    malformed = Path.join(dir, "bad.lock")
    File.write!(malformed, "not a lock line\n")

    capture_log(fn ->
      assert {:error, {:callconv, %Callconv.Error{message: message}}} =
               Guard.verify(Callconv.Fixtures.Custom, base("custom_ok"), lockfile: malformed)

      assert message =~ "line 1: expected 8 fields"
      assert message =~ "mix callconv.lock"
    end)
  end

  test "use Callconv.Guard records the module's library in its .beam for the project scan" do
    {:ok, {_, [attributes: attributes]}} =
      :beam_lib.chunks(:code.which(Callconv.Fixtures.Custom), [:attributes])

    assert [{:callconv, path}] = attributes[:callconv_nif]
    assert path == base("custom_ok")
    assert attributes[:callconv_guarded] == [true]
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

    # The next check reads the cached verdict (shown without timing anything): a planted
    # verdict with no findings lets the library through, while a fresh check refuses it
    # (plain_lib is no NIF of Some.Module).
    assert {:error, _} = Guard.verify(Some.Module, path, log: false)

    [key] = for {{Callconv.Guard.Cache, _} = key, _} <- :persistent_term.get(), do: key

    report = :persistent_term.get(key)
    :persistent_term.put(key, %{report | findings: [], verdict: :pass})
    assert {:ok, _} = Guard.verify(Some.Module, path, log: false)
    assert {:error, _} = Guard.verify(Some.Module, path, log: false, cache: false)
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
          assert {:callconv, reason} = Guard.__boot_reason__(report)
          assert List.to_string(reason) =~ ~r/callconv refused .*plain_lib.so: .*not-a-nif/
        end
      end)

    assert length(String.split(log, "callconv: refused to load")) == 2
    refute log =~ "%Callconv.Report{"
  end
end

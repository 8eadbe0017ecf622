defmodule Callconv.JourneyTest do
  # The paths a user takes, driven for real on a copy of test/fixtures/projects/nif_app (a
  # C NIF built by gcc and a Rustler NIF, both loaded through use Callconv.Guard, callconv
  # as a path: dependency) with callconv: [locked: true]:
  #
  #   1. the lockfile's life: compile before any lock, lock, add a NIF, re-lock, a rebuilt
  #      (tampered) NIF, a NIF built for the wrong module, a missing lockfile;
  #   2. an escript, where the guard refuses, saying why;
  #   3. the release: mix release with Callconv.Release.check/1, then bin/nif_app start
  #      (embedded mode) and bin/nif_app daemon, both NIFs called through bin/nif_app rpc,
  #      bin/nif_app stop; a tampered library refused at boot, with the message users see;
  #      and the release's lockfile deleted, refused likewise.
  #
  # Every wait is a counted poll (@tries tries of bin/nif_app pid), never a duration.
  use ExUnit.Case

  alias Callconv.Fixtures

  @moduletag :slow
  @moduletag timeout: 1_200_000
  @moduletag :tmp_dir

  @fixture Path.expand("fixtures/projects/nif_app", __DIR__)
  @callconv Path.expand("..", __DIR__)
  @tries 120
  @poll_ms 250

  setup %{tmp_dir: dir} do
    project = Path.join(dir, "nif_app")
    File.cp_r!(@fixture, project)
    build = Path.join(dir, "build")

    # callconv's crates build in its own native/target, which this test run's build filled.
    File.mkdir_p!(build)

    # A node name of our own: nothing else on the machine answers to it.
    node = "journey#{System.pid()}"

    env = [
      {"MIX_ENV", "prod"},
      {"MIX_BUILD_PATH", build},
      {"MIX_DEPS_PATH", Path.join(build, "deps")},
      {"NIF_APP_CALLCONV", @callconv},
      {"NIF_APP_RUSTLER_OUT", Path.expand("fixtures/rustler/out", __DIR__)},
      {"NIF_APP_LOCKED", "1"},
      {"RELEASE_NODE", node},
      # A failed boot must not leave an erl_crash.dump behind.
      {"ERL_CRASH_DUMP_SECONDS", "0"}
    ]

    bin = Path.join(build, "rel/nif_app/bin/nif_app")
    # Whatever happens, no node of ours outlives the test.
    on_exit(fn ->
      if File.exists?(bin), do: System.cmd(bin, ["stop"], env: env, stderr_to_stdout: true)
    end)

    %{project: project, build: build, env: env, bin: bin}
  end

  defp mix(ctx, args, env \\ []) do
    System.cmd("mix", args, cd: ctx.project, env: ctx.env ++ env, stderr_to_stdout: true)
  end

  defp bin(ctx, args) do
    System.cmd(ctx.bin, args, env: ctx.env, stderr_to_stdout: true)
  end

  # Up to @tries calls of fun, @poll_ms apart, until it returns true.
  defp eventually(fun, tries \\ @tries) do
    cond do
      fun.() -> true
      tries <= 1 -> false
      true -> eventually_after_sleep(fun, tries - 1)
    end
  end

  defp eventually_after_sleep(fun, tries) do
    Process.sleep(@poll_ms)
    eventually(fun, tries)
  end

  defp running?(ctx), do: match?({_, 0}, bin(ctx, ["pid"]))

  defp lockfile(ctx), do: Path.join(ctx.project, "priv/callconv.lock")

  test "the lockfile's life, then a release that boots, answers, stops, and refuses a tampered NIF",
       ctx do
    # --- Locked before any lock exists: the compile hook says what to run.
    {out, status} = mix(ctx, ["compile"])
    assert status != 0, out
    assert out =~ "priv/callconv.lock"
    assert out =~ "run mix callconv.lock to write it"

    # --- Lock: the C NIF, the Rustler NIF, and callconv's own NIF (a dependency's priv).
    {out, status} = mix(ctx, ["callconv.lock"])
    assert status == 0, out
    assert out =~ "Wrote priv/callconv.lock: 3 native libraries"
    lock = File.read!(lockfile(ctx))
    assert lock =~ " Elixir.NifApp.Native 2.16 pass nif_app/priv/native/libnif_app.so\n"

    assert lock =~
             ~r/ Elixir.Callconv.Fixtures.Rustler 2\.\d+ pass nif_app\/priv\/native\/librustler_fixture.so\n/

    assert lock =~ "callconv/priv/native/libcallconv_nif.so\n"

    {out, status} = mix(ctx, ["compile"])
    assert status == 0, out
    {out, status} = mix(ctx, ["callconv.check"])
    assert status == 0, out

    # The lock governs the project's libraries, not a file named on the command line...
    other = Fixtures.host("custom_ok.so")
    {out, status} = mix(ctx, ["callconv.check", other])
    assert status == 0, out
    # ...unless asked.
    {out, status} = mix(ctx, ["callconv.check", "--locked", other])
    assert status == 3, out
    assert out =~ "lock-not-locked"

    # --- A new NIF: the compile hook and the check refuse it until it is locked; locking it
    # needs nothing from the old lock.
    extra = [{"NIF_APP_EXTRA", "1"}]
    {out, status} = mix(ctx, ["compile"], extra)
    assert status != 0, out
    assert out =~ "[lock-not-locked] nif_app/priv/native/librustler_extra.so"
    {out, status} = mix(ctx, ["callconv.check"], extra)
    assert status == 3, out
    {out, status} = mix(ctx, ["callconv.lock"], extra)
    assert status == 0, out
    assert out =~ "Wrote priv/callconv.lock: 4 native libraries"
    {out, status} = mix(ctx, ["compile"], extra)
    assert status == 0, out

    # --- A rebuilt C NIF nobody locked (same behaviour, other bytes).
    {out, status} = mix(ctx, ["compile"], [{"NIF_APP_BROKEN", "rebuilt"}])
    assert status != 0, out
    assert out =~ "[lock-hash-changed] nif_app/priv/native/libnif_app.so has sha256"
    {out, status} = mix(ctx, ["callconv.check"], [{"NIF_APP_BROKEN", "rebuilt"}])
    assert status == 3, out

    rebuilt = Path.join(ctx.build, "rebuilt-libnif_app.so")
    File.cp!(Path.join(ctx.build, "lib/nif_app/priv/native/libnif_app.so"), rebuilt)

    # --- A C NIF built for another module name: the scan knows, from the guard in
    # NifApp.Native's .beam, which module loads it, as the boot would.
    {out, status} = mix(ctx, ["callconv.check", "--no-locked"], [{"NIF_APP_BROKEN", "module"}])
    assert status == 1, out
    assert out =~ "nif-module-mismatch"
    assert out =~ "NifApp.Other"

    # --- The lockfile deleted: checks refuse, naming it and the command; locking writes it.
    {out, status} = mix(ctx, ["compile"])
    assert status == 0, out
    File.rm!(lockfile(ctx))
    {out, status} = mix(ctx, ["callconv.check"])
    assert status == 2, out
    assert out =~ lockfile(ctx)
    assert out =~ "run mix callconv.lock to write it"
    {out, status} = mix(ctx, ["compile"])
    assert status != 0, out
    assert out =~ "run mix callconv.lock to write it"
    {out, status} = mix(ctx, ["callconv.lock", "--no-locked"])
    assert status == 0, out
    assert out =~ "Wrote priv/callconv.lock: 3 native libraries"

    # --- An escript carries no priv directory, neither callconv's nor the NIF's: the guard
    # refuses, saying why, and the module is not loaded.
    {out, status} = mix(ctx, ["escript.build"])
    assert status == 0, out
    {out, status} = System.cmd(Path.join(ctx.project, "nif_app"), [], stderr_to_stdout: true)
    assert status != 0, out
    assert out =~ "callconv's native library is not available"
    assert out =~ "an escript"
    assert out =~ "NifApp.Native.hello/0 is undefined"

    # --- The release: the release step checks it against the lock it ships.
    {out, status} = mix(ctx, ["release", "--overwrite"])
    assert status == 0, out
    assert out =~ ~r/callconv checked 3 native libraries against ERTS [\d.]+: none fails/
    rel = Path.join(ctx.build, "rel/nif_app")
    [app_dir] = Path.wildcard(Path.join(rel, "lib/nif_app-*"))
    assert File.read!(Path.join(app_dir, "priv/callconv.lock")) == File.read!(lockfile(ctx))

    # --- bin/nif_app start: embedded mode, in the background.
    log = Path.join(ctx.build, "start.log")
    {_, 0} = System.cmd("sh", ["-c", ~s("$0" start >"$1" 2>&1 &), ctx.bin, log], env: ctx.env)
    assert eventually(fn -> running?(ctx) end), "not up: " <> File.read!(log)
    assert_nifs_answer(ctx)
    assert {_, 0} = bin(ctx, ["stop"])
    assert eventually(fn -> not running?(ctx) end)
    refute File.read!(log) =~ "refused"

    # --- bin/nif_app daemon.
    {out, status} = bin(ctx, ["daemon"])
    assert status == 0, out
    assert eventually(fn -> running?(ctx) end)
    assert_nifs_answer(ctx)
    assert {_, 0} = bin(ctx, ["stop"])
    assert eventually(fn -> not running?(ctx) end)

    # --- A library swapped in the release after it was built: the guard refuses it at boot,
    # the module does not load, and the boot stops with the reason. `timeout` only keeps a
    # wrongly booting node from hanging the test; nothing is asserted about time.
    lib = Path.join(app_dir, "priv/native/libnif_app.so")
    File.rm!(lib)
    File.cp!(rebuilt, lib)

    {out, status} =
      System.cmd("timeout", ["300", ctx.bin, "start"], env: ctx.env, stderr_to_stdout: true)

    assert status != 0 and status != 124, out
    # What the boot prints: the @on_load result, a charlist that ~p may cut into pieces.
    printed = Regex.replace(~r/"\s*\r?\n\s*"/, out, "")
    assert printed =~ "{on_load_function_failed,'Elixir.NifApp.Native',"

    assert printed =~
             ~s({error,{callconv,"callconv refused #{lib}: ) <>
               "[lock-hash-changed] nif_app/priv/native/libnif_app.so has sha256"

    assert printed =~ "but callconv.lock approved"
    assert printed =~ "(fix: if the new build is intended, review it and run mix callconv.lock"
    refute running?(ctx)

    # --- The release's lockfile gone: a refusal that names the file and the command.
    File.rm!(Path.join(app_dir, "priv/callconv.lock"))

    {out, status} =
      System.cmd("timeout", ["300", ctx.bin, "start"], env: ctx.env, stderr_to_stdout: true)

    assert status != 0 and status != 124, out
    printed = Regex.replace(~r/"\s*\r?\n\s*"/, out, "")
    assert printed =~ "on_load_function_failed"

    assert printed =~
             "callconv refused to load: callconv.lock: could not read " <>
               Path.join(app_dir, "priv/callconv.lock") <> ": no such file or directory"

    assert printed =~ "run mix callconv.lock to write it"
    refute running?(ctx)
  end

  defp assert_nifs_answer(ctx) do
    {out, status} = bin(ctx, ["rpc", "IO.inspect(NifApp.Native.hello())"])
    assert status == 0, out
    assert out =~ ":world"

    {out, status} =
      bin(ctx, [
        "rpc",
        "IO.inspect({Callconv.Fixtures.Rustler.add(40, 2), Callconv.Fixtures.Rustler.renamed(7)})"
      ])

    assert status == 0, out
    assert out =~ "{42, -7}"
  end
end

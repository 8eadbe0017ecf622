defmodule Callconv.ReleaseTest do
  # A real project (test/fixtures/projects/nif_app) that bundles a C NIF, depends on callconv
  # through a path: dependency, guards its NIF with use Callconv.Guard, checks on compile
  # with the :callconv compiler and in its release with Callconv.Release.check/1.
  use ExUnit.Case

  @moduletag :slow
  @moduletag timeout: 900_000
  @moduletag :tmp_dir

  @project Path.expand("fixtures/projects/nif_app", __DIR__)

  # The fixture's path: dependency builds callconv's crates in callconv's own native/target
  # (one cargo target for every MIX_ENV and every project that uses this checkout), so cargo
  # finds this test run's build fresh. Everything else of the fixture's build is new.
  defp mix(build, args, env \\ []) do
    env =
      [
        {"MIX_ENV", "prod"},
        {"MIX_BUILD_PATH", build},
        {"MIX_DEPS_PATH", Path.join(build, "deps")}
      ] ++
        env

    System.cmd("mix", args, cd: @project, env: env, stderr_to_stdout: true)
  end

  test "a path: dependency compiles from a clean _build, checks, boots, and releases",
       %{tmp_dir: dir} do
    build = Path.join(dir, "build")

    {out, status} = mix(build, ["compile"])
    assert status == 0, out

    {out, status} = mix(build, ["callconv.check", "--no-deps"])
    assert status == 0, out
    assert out =~ "libnif_app.so  PASS"
    assert out =~ "NIF, module Elixir.NifApp.Native"

    {out, status} = mix(build, ["run", "-e", "IO.inspect(NifApp.Native.hello())"])
    assert status == 0, out
    assert out =~ ":world"

    {out, status} = mix(build, ["release", "--overwrite"])
    assert status == 0, out
    assert out =~ "callconv checked"

    bin = Path.join(build, "rel/nif_app/bin/nif_app")
    {out, status} = System.cmd(bin, ["eval", "IO.inspect(NifApp.Native.hello())"])
    assert status == 0, out
    assert out =~ ":world"

    # Broken: a truncated library. The compile hook refuses it...
    {out, status} = mix(build, ["compile"], [{"NIF_APP_BROKEN", "truncated"}])
    assert status != 0
    assert out =~ "library-unreadable"

    # ...and without the hook, the release step aborts the release.
    {out, status} =
      mix(build, ["release", "--overwrite"], [
        {"NIF_APP_BROKEN", "truncated"},
        {"NIF_APP_NO_HOOK", "1"}
      ])

    assert status != 0
    assert out =~ "would not load safely"
    assert out =~ "libnif_app.so"

    # callconv as a runtime: false dependency: the release would lack it, and every guarded
    # module would fail its @on_load with undef at boot. The release step refuses it.
    # (--force: the change is in the environment, not in mix.exs, so Mix would not
    # regenerate nif_app.app, whose applications list the release follows.)
    {out, status} =
      mix(build, ["do", "compile", "--force,", "release", "--overwrite"], [
        {"NIF_APP_RUNTIME_FALSE", "1"}
      ])

    assert status != 0, out
    assert out =~ "NifApp.Native"
    assert out =~ "does not include the callconv application"
    assert out =~ "Remove `runtime: false`"
  end
end

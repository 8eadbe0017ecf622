defmodule Mix.Tasks.Callconv.LockTest do
  use ExUnit.Case

  alias Callconv.Fixtures

  @moduletag :tmp_dir

  defp run_lock(args) do
    Mix.Task.reenable("callconv.lock")

    try do
      Mix.Tasks.Callconv.Lock.run(args)
    catch
      :exit, {:shutdown, status} -> {:exit, status}
    end
  end

  test "writes a sorted lockfile of the approved libraries", %{tmp_dir: dir} do
    lockfile = Path.join(dir, "callconv.lock")
    paths = [Fixtures.host("plain_lib.so"), Fixtures.host("hello_nif.so")]
    assert run_lock(["--lockfile", lockfile | paths]) == :ok
    assert_received {:mix_shell, :info, ["Wrote " <> _]}

    lines = lockfile |> File.read!() |> String.split("\n", trim: true)
    assert ["# callconv.lock format 1" <> _, "#" <> _, "#" <> _, hello, plain] = lines

    assert hello =~
             " Elixir.Callconv.Fixtures.Hello 2.16 pass test/fixtures/build/host/hello_nif.so"

    assert plain =~ " - - pass test/fixtures/build/host/plain_lib.so"
  end

  test "refuses to lock a failing library and writes nothing", %{tmp_dir: dir} do
    lockfile = Path.join(dir, "callconv.lock")
    assert run_lock(["--lockfile", lockfile, Fixtures.host("custom_duplicate.so")]) == {:exit, 1}
    refute File.exists?(lockfile)
    assert_received {:mix_shell, :error, [message]} when is_binary(message)
  end

  test "check-only options are usage errors; --no-locked is accepted", %{tmp_dir: dir} do
    error = assert_raise Mix.Error, fn -> run_lock(["--format", "json", "x.so"]) end
    assert error.mix == 2
    error = assert_raise Mix.Error, fn -> run_lock(["--locked", "x.so"]) end
    assert error.mix == 2

    lockfile = Path.join(dir, "callconv.lock")
    assert run_lock(["--no-locked", "--lockfile", lockfile, Fixtures.host("hello_nif.so")]) == :ok
    assert File.exists?(lockfile)
  end

  test "never reads the old lockfile: a new library is added, a broken lock replaced",
       %{tmp_dir: dir} do
    lockfile = Path.join(dir, "callconv.lock")
    assert run_lock(["--lockfile", lockfile, Fixtures.host("hello_nif.so")]) == :ok
    File.write!(lockfile, File.read!(lockfile) <> "garbage\n")

    paths = [Fixtures.host("hello_nif.so"), Fixtures.host("plain_lib.so")]
    assert run_lock(["--lockfile", lockfile | paths]) == :ok
    assert {:ok, %Callconv.Lock{entries: [_, _]}} = Callconv.Lock.read(lockfile)
  end
end

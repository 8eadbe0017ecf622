defmodule Callconv.LockTest do
  use ExUnit.Case, async: true

  alias Callconv.{Fixtures, Lock}

  doctest Callconv.Lock

  @moduletag :tmp_dir

  test "round trip: entries are written sorted and read back", %{tmp_dir: dir} do
    {:ok, ok} = Callconv.check(Fixtures.host("custom_ok.so"))
    {:ok, hello} = Callconv.check(Fixtures.host("hello_nif.so"))
    file = Path.join(dir, "callconv.lock")

    Lock.write!(file, [Lock.entry(ok, "z/priv/b.so", 10), Lock.entry(hello, "a/priv/a b.so", 20)])

    text = File.read!(file)
    assert [_, _, _, first, second] = String.split(text, "\n", trim: true)
    assert String.ends_with?(first, " 2.16 pass a/priv/a b.so")
    assert first =~ ~r/^[0-9a-f]{64} 20 x86_64 x86_64-sysv Elixir.Callconv.Fixtures.Hello /
    assert String.ends_with?(second, "z/priv/b.so")

    assert {:ok, %Lock{entries: [a, b]}} = Lock.read(file)
    assert a.path == "a/priv/a b.so" and a.sha256 == hello.sha256 and a.size == 20
    assert b.module == "Elixir.Callconv.Fixtures.Custom"
    assert Lock.compare(%Lock{entries: [a, b]}, "z/priv/b.so", ok.sha256) == :ok
  end

  test "read_for_check names the command that writes a missing lockfile", %{tmp_dir: dir} do
    missing = Lock.path([], nil, dir)
    assert missing == Path.join(dir, "priv/callconv.lock")
    assert {:error, message} = Lock.read_for_check(missing)
    assert message =~ "could not read #{missing}"
    assert message =~ "run mix callconv.lock to write it"
  end

  test "unreadable and malformed lockfiles are errors", %{tmp_dir: dir} do
    assert {:error, "could not read " <> _} = Lock.read(Path.join(dir, "none.lock"))
    file = Path.join(dir, "bad.lock")
    File.write!(file, "not a lock line\n")
    assert {:error, message} = Lock.read(file)
    assert message =~ "line 1: expected 8 fields"
  end
end

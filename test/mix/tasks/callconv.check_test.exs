defmodule Mix.Tasks.Callconv.CheckTest do
  use ExUnit.Case

  alias Callconv.Fixtures

  defp run_task(args) do
    Mix.Task.reenable("callconv.check")

    result =
      try do
        Mix.Tasks.Callconv.Check.run(args)
      catch
        :exit, {:shutdown, status} -> {:exit, status}
      end

    {result, shell_output()}
  end

  defp shell_output(acc \\ []) do
    receive do
      {:mix_shell, :info, [line]} -> shell_output([line | acc])
    after
      0 -> acc |> Enum.reverse() |> Enum.join("\n")
    end
  end

  test "text: a table per library, exit 0 when nothing fails" do
    {result, out} = run_task([Fixtures.host("hello_nif.so"), Fixtures.host("driver.so")])
    assert result == :ok
    assert out =~ "hello_nif.so  PASS"
    assert out =~ "NIF, module Elixir.Callconv.Fixtures.Hello, version 2.16, 3 functions"
    assert out =~ "[not-a-nif]"
    assert out =~ "2 checked, 2 passed, 0 warned, 0 failed"
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
  end

  test "--nif-version checks against another runtime" do
    {result, out} = run_task(["--nif-version", "2.14", Fixtures.host("hello_nif.so")])
    assert result == {:exit, 1}
    assert out =~ "[nif-version-too-new]"
  end

  test "a directory is searched for native libraries" do
    dir = Path.dirname(Fixtures.host("hello_nif.so"))
    {_result, out} = run_task([dir])
    assert out =~ "hello_nif.so  PASS"
    assert out =~ "custom_duplicate.so  FAIL"
  end

  test "usage errors exit with status 2" do
    for args <- [["--format", "xml", "x.so"], ["--bogus"], ["--nif-version", "two", "x.so"]] do
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
    assert out =~ "kind      nif"
  end
end

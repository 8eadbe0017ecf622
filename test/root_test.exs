defmodule Callconv.RootTest do
  # Dependencies resolved under a target root: `root:` of Callconv.check/2, both isolation
  # modes, and mix callconv.check --root.
  use ExUnit.Case, async: true

  alias Callconv.Fixtures

  # needs_ver.so needs CALLCONV_2.0 of libcallconv_ver.so.1, which only release 2 defines.
  defp root_with(dir, release) do
    File.rm_rf!(dir)
    File.mkdir_p!(Path.join(dir, "usr/lib"))

    File.cp!(
      Fixtures.host("ver#{release}/libcallconv_ver.so.1"),
      Path.join(dir, "usr/lib/libcallconv_ver.so.1")
    )

    dir
  end

  defp rules(report), do: Enum.map(report.findings, &{&1.rule, &1.severity})

  @tag :tmp_dir
  test "root: resolves dependencies in the root, for another machine too", %{tmp_dir: tmp} do
    nif = Fixtures.host("needs_ver.so")
    old = root_with(Path.join(tmp, "old"), 1)
    new = root_with(Path.join(tmp, "new"), 2)

    for isolation <- [:vm, :process] do
      # otp_release: an explicit target, not this machine.
      {:ok, report} = Callconv.check(nif, otp_release: 25, root: old, isolation: isolation)
      assert rules(report) == [{"symbol-version-missing", :error}]
      [finding] = report.findings
      assert finding.message =~ "CALLCONV_2.0"
      assert finding.message =~ Path.join(old, "usr/lib/libcallconv_ver.so.1")

      {:ok, report} = Callconv.check(nif, otp_release: 25, root: new, isolation: isolation)
      assert rules(report) == []

      {:ok, report} = Callconv.check(nif, otp_release: 25, root: tmp, isolation: isolation)
      assert rules(report) == [{"needed-missing", :error}]
    end

    # Without a root, another machine's file system is not guessed at.
    {:ok, report} = Callconv.check(nif, otp_release: 25)
    assert rules(report) == []

    assert_raise ArgumentError, ~r/:root must be a directory/, fn ->
      Callconv.check(nif, root: Path.join(tmp, "none"))
    end

    {json, %{failed: 1}} = Callconv.check_document([nif], :json, otp_release: 25, root: old)
    assert json =~ "symbol-version-missing"
  end

  @tag :tmp_dir
  test "mix callconv.check --root", %{tmp_dir: tmp} do
    nif = Fixtures.host("needs_ver.so")
    old = root_with(Path.join(tmp, "old"), 1)
    Mix.Task.reenable("callconv.check")

    status =
      try do
        Mix.Tasks.Callconv.Check.run(["--otp", "25", "--root", old, nif])
      catch
        :exit, {:shutdown, status} -> status
      end

    assert status == 1
    assert_received {:mix_shell, :info, [out]}
    assert out =~ "[symbol-version-missing]"

    Mix.Task.reenable("callconv.check")

    error =
      assert_raise Mix.Error, fn ->
        Mix.Tasks.Callconv.Check.run(["--root", Path.join(tmp, "none"), nif])
      end

    assert error.mix == 2
  end
end

defmodule Callconv.IsolationTest do
  # isolation: :process runs the check in callconv's own binary, outside the VM: the results
  # must be the same structs as through the NIF, for every file of the fixture corpus.
  use ExUnit.Case, async: true

  alias Callconv.Fixtures

  defp corpus do
    fixtures = Path.expand("fixtures", __DIR__)

    Enum.sort(
      Path.wildcard(Path.join(fixtures, "build/host/*.so")) ++
        Path.wildcard(Path.join(fixtures, "cross/*/*")) ++
        Path.wildcard(Path.join(fixtures, "rustler/out/*.so")) ++
        Path.wildcard(Path.join(:code.root_dir(), "lib/*/priv/lib/*.so"))
    )
  end

  @tag timeout: 300_000
  test "the same report, or the same error, both ways on the whole fixture corpus" do
    paths = corpus()
    assert length(paths) > 60

    for path <- paths ++ ["/nonexistent.so", "/dev/zero"] do
      assert Callconv.check(path) == Callconv.check(path, isolation: :process), path
    end
  end

  test "with the calling module and a runtime from the table, too" do
    path = Fixtures.host("custom_ok.so")
    opts = [module: "Elixir.Other", functions: [f: 0], otp_release: 23]
    in_vm = Callconv.check(path, opts)
    assert {:ok, %{verdict: :fail}} = in_vm
    assert in_vm == Callconv.check(path, [isolation: :process] ++ opts)
  end

  test "an unknown isolation is refused" do
    assert_raise ArgumentError, fn -> Callconv.check("x.so", isolation: :thread) end
  end
end

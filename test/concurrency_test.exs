defmodule Callconv.ConcurrencyTest do
  # Checks running at the same time, from different processes, on the dirty schedulers, must
  # give exactly the reports they give one at a time.
  use ExUnit.Case, async: true

  alias Callconv.Fixtures

  defp libraries do
    host = Path.wildcard(Path.join(Path.dirname(Fixtures.host("hello_nif.so")), "*.so"))
    otp = Path.wildcard(Path.join(:code.root_dir(), "lib/*/priv/lib/*.so"))
    cross = Path.wildcard(Path.expand("fixtures/cross/**/*.{so,dll,dylib}", __DIR__))
    Enum.sort(host ++ otp ++ cross)
  end

  test "16 concurrent checks of different files equal the same checks one at a time" do
    paths = libraries() |> Enum.take(16)
    assert length(paths) == 16
    alone = Map.new(paths, &{&1, Callconv.check(&1)})

    together =
      paths
      |> Enum.map(fn path -> Task.async(fn -> {path, Callconv.check(path)} end) end)
      |> Task.await_many(30_000)
      |> Map.new()

    for path <- paths do
      assert Map.fetch!(together, path) == Map.fetch!(alone, path), path
    end
  end

  test "every library, each checked by 4 processes at once, 3 rounds" do
    paths = libraries()
    alone = Map.new(paths, &{&1, Callconv.check(&1)})

    for _round <- 1..3 do
      paths
      |> Enum.flat_map(fn path -> for _ <- 1..4, do: path end)
      |> Enum.shuffle()
      |> Task.async_stream(fn path -> {path, Callconv.check(path)} end,
        max_concurrency: 32,
        ordered: false,
        timeout: :infinity
      )
      |> Enum.each(fn {:ok, {path, result}} -> assert result == Map.fetch!(alone, path), path end)
    end
  end

  test "errors are as stable as reports under concurrency", %{} do
    paths = ["/nonexistent/a.so", "/dev/zero", System.tmp_dir!(), Fixtures.host("truncated.so")]
    alone = Map.new(paths, &{&1, Callconv.check(&1)})

    paths
    |> Enum.flat_map(&List.duplicate(&1, 8))
    |> Task.async_stream(&{&1, Callconv.check(&1)}, max_concurrency: 16, timeout: :infinity)
    |> Enum.each(fn {:ok, {path, result}} -> assert result == Map.fetch!(alone, path) end)
  end
end

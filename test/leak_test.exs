defmodule Callconv.LeakTest do
  # 10,000 checks of a real NIF through the NIF: neither the VM's own memory nor the OS
  # resident set of the VM may grow past a small tolerance once garbage is collected.
  use ExUnit.Case, async: false

  alias Callconv.Fixtures

  @checks 10_000
  # Tolerances: allocator caches and the code path's first-touch pages, not 10,000 reports.
  @total_tolerance 2 * 1024 * 1024
  @rss_tolerance_kb 8 * 1024

  defp vm_rss_kb do
    "/proc/self/status"
    |> File.read!()
    |> String.split("\n")
    |> Enum.find_value(fn
      "VmRSS:" <> rest ->
        rest |> String.trim() |> String.trim_trailing(" kB") |> String.to_integer()

      _ ->
        nil
    end)
  end

  defp settle do
    for pid <- Process.list(), do: :erlang.garbage_collect(pid)
    Process.sleep(50)
    {:erlang.memory(:total), vm_rss_kb()}
  end

  defp run(paths, n) do
    # Several processes, as a project scan does; each check's report is dropped at once.
    paths
    |> Stream.cycle()
    |> Stream.take(n)
    |> Task.async_stream(fn path -> {:ok, _} = Callconv.check(path) end,
      max_concurrency: 4,
      ordered: false
    )
    |> Stream.run()
  end

  # These measure memory, never time: the timeout only catches a hang, sized for a machine
  # under a load of 25 on 2 cores (where 10,000 checks took up to ~120 s).
  @tag timeout: 600_000
  test "10,000 checks leave the VM's memory where it was" do
    # Small real NIFs: this measures memory, not speed (crypto.so costs ~60 ms a check).
    paths = [Fixtures.host("hello_nif.so"), Fixtures.otp_nif("asn1-", "asn1rt_nif.so")]
    # Warm-up: load the code paths, fill the allocators' caches.
    run(paths, 500)
    {total_before, rss_before} = settle()
    {micros, :ok} = :timer.tc(fn -> run(paths, @checks) end)
    {total_after, rss_after} = settle()

    IO.puts(
      "\n#{@checks} checks in #{div(micros, 1000)} ms; :erlang.memory(:total) " <>
        "#{total_before} -> #{total_after} B; VmRSS #{rss_before} -> #{rss_after} kB"
    )

    assert total_after - total_before < @total_tolerance
    assert rss_after - rss_before < @rss_tolerance_kb
  end

  @tag timeout: 600_000
  test "errors do not leak either" do
    paths = ["/nonexistent/lib.so", Fixtures.host("truncated.so"), "/dev/zero"]

    run_errors = fn n ->
      paths
      |> Stream.cycle()
      |> Stream.take(n)
      |> Enum.each(fn path -> {:error, _} = Callconv.check(path) end)
    end

    run_errors.(300)
    {total_before, rss_before} = settle()
    run_errors.(3_000)
    {total_after, rss_after} = settle()
    assert total_after - total_before < @total_tolerance
    assert rss_after - rss_before < @rss_tolerance_kb
  end
end

# Measurements inside the VM (run by bench/run through `mix run`):
#   mix run bench/vm.exs REPEAT SCAN_DIR HELLO_SO FILE...
# Prints one line of JSON per measurement.
[repeat, scan_dir, hello | files] = System.argv()
repeat = String.to_integer(repeat)

median = fn list ->
  sorted = Enum.sort(list)
  n = length(sorted)
  if rem(n, 2) == 1, do: Enum.at(sorted, div(n, 2)), else: (Enum.at(sorted, div(n, 2) - 1) + Enum.at(sorted, div(n, 2))) / 2
end

emit = fn map -> IO.puts(map |> Enum.map(fn {k, v} -> ~s("#{k}": #{inspect(v)}) end) |> Enum.join(", ") |> then(&"{#{&1}}")) end

# 1. The whole-project scan: the first call after VM start (cold), then warm medians.
paths = Path.wildcard(Path.join(scan_dir, "**/*.so")) |> Enum.sort()
since_start_ms = fn -> elem(:erlang.statistics(:wall_clock), 0) end
vm_age = since_start_ms.()
{cold, {_out, summary}} = :timer.tc(fn -> Callconv.check_document(paths, :json) end)
warm = for _ <- 1..repeat, do: elem(:timer.tc(fn -> Callconv.check_document(paths, :json) end), 0)

emit.(%{what: "scan", libraries: length(paths), checked: summary.checked, vm_age_ms: vm_age,
        cold_ms: cold / 1000, median_ms: median.(warm) / 1000})

# 1b. The project scan as the Mix tasks run it (Callconv.Scan.check/4), without and with the
# result cache: filling an empty one, then re-scanning the unchanged project (all hits). The
# reports must be the same every way.
cache_dir = Path.join(System.tmp_dir!(), "callconv-bench-cache-#{System.unique_integer([:positive])}")
scan = fn opts -> Callconv.Scan.check(paths, [], %{}, opts) end
uncached = scan.([])
uncached_times = for _ <- 1..repeat, do: elem(:timer.tc(fn -> scan.([]) end), 0)
{fill, filled} = :timer.tc(fn -> scan.(cache: cache_dir) end)
entries = length(Path.wildcard(Path.join(cache_dir, "*.etf")))
hits = Enum.count(paths, fn p -> match?({_, :hit}, Callconv.Cache.check(p, [], cache_dir)) end)
rescan_times = for _ <- 1..repeat, do: elem(:timer.tc(fn -> ^uncached = scan.(cache: cache_dir) end), 0)
^uncached = filled
File.rm_rf!(cache_dir)

emit.(%{what: "rescan", libraries: length(paths), entries: entries, hits: hits,
        uncached_ms: median.(uncached_times) / 1000, fill_ms: fill / 1000,
        median_ms: median.(rescan_times) / 1000})

# 2. One check through the NIF, per file.
for file <- files do
  {:ok, _} = Callconv.check(file)
  times = for _ <- 1..repeat, do: elem(:timer.tc(fn -> {:ok, _} = Callconv.check(file) end), 0)
  emit.(%{what: "nif-check", file: file, size: File.stat!(file).size, median_ms: median.(times) / 1000})
end

# 3. Guarded load against plain :erlang.load_nif/2, each in a freshly compiled module.
source = """
defmodule Callconv.Fixtures.Hello do
  require Callconv
  def plain(path), do: :erlang.load_nif(path, 0)
  def guarded(path, opts), do: Callconv.load_nif(path, 0, opts)
  def checked(path), do: (case Callconv.check(path <> ".so") do {:ok, %{verdict: v}} when v != :fail -> :erlang.load_nif(path, 0); other -> other end)
  def hello, do: :erlang.nif_error(:not_loaded)
  def add(_a, _b), do: :erlang.nif_error(:not_loaded)
  def read(_x), do: :erlang.nif_error(:not_loaded)
end
"""
mod = Callconv.Fixtures.Hello
lib = Path.rootname(hello)
Code.compiler_options(ignore_module_conflict: true)

fresh = fn ->
  :code.purge(mod)
  :code.delete(mod)
  :code.purge(mod)
  [{^mod, _}] = Code.compile_string(source)
end

arm = fn name, call ->
  times =
    for _ <- 1..(repeat * 20) do
      fresh.()
      {t, result} = :timer.tc(call)
      :ok = result
      t
    end

  emit.(%{what: "load", arm: name, median_us: median.(times), runs: length(times)})
end

arm.("plain :erlang.load_nif/2", fn -> mod.plain(String.to_charlist(lib)) end)
arm.("Callconv.check/2 + :erlang.load_nif/2", fn -> mod.checked(lib) end)

guarded =
  try do
    fresh.()
    mod.guarded(String.to_charlist(lib), cache: false)
  rescue
    e -> {:unavailable, Exception.message(e)}
  end

case guarded do
  :ok ->
    arm.("Callconv.load_nif/3, cache: false", fn -> mod.guarded(String.to_charlist(lib), cache: false) end)
    arm.("Callconv.load_nif/3 (default, cached verdict)", fn -> mod.guarded(String.to_charlist(lib), []) end)

  other ->
    emit.(%{what: "load", arm: "Callconv.load_nif/3", unavailable: inspect(other)})
end

# The cost of the guard, per load: MIX_ENV=test mix run bench/guard/load_nif.exs
# (after test/fixtures/build.sh). Cold = a full check (cache: false); warm = a cached verdict.
# Callconv.Guard.verify/3 is what Callconv.load_nif/3 runs before :erlang.load_nif/2.
libraries =
  [
    Path.expand("../../test/fixtures/build/host/hello_nif", __DIR__),
    :filename.join(:code.priv_dir(:callconv), ~c"native/libcallconv_nif") |> List.to_string()
  ] ++
    (Path.wildcard(Path.join(:code.root_dir(), "lib/crypto-*/priv/lib/crypto.so"))
     |> Enum.map(&Path.rootname/1))

measure = fn fun, n ->
  {total, _} = :timer.tc(fn -> Enum.each(1..n, fn _ -> fun.() end) end)
  total / n
end

for lib <- libraries do
  size = File.stat!(lib <> ".so").size
  cold = measure.(fn -> Callconv.Guard.verify(Bench, lib, cache: false, log: false, functions: []) end, 20)
  warm = measure.(fn -> Callconv.Guard.verify(Bench, lib, log: false, functions: []) end, 200)

  IO.puts(
    "#{Path.basename(lib)}.so (#{div(size, 1024)} KiB): cold #{Float.round(cold / 1000, 2)} ms, " <>
      "cached #{Float.round(warm, 1)} µs"
  )
end

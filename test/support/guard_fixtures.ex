defmodule Callconv.Fixtures.Custom do
  @moduledoc false
  # A Rustler-style NIF module guarded by callconv: its @on_load (written by
  # use Callconv.Guard) checks test/fixtures/build/host/custom_ok.so, then loads it.
  # load/2 tries other libraries through the guard, from this module.
  use Callconv.Guard,
    otp_app: :callconv,
    path: Path.expand("../fixtures/build/host/custom_ok", __DIR__)

  require Callconv

  def load(path, opts \\ []), do: Callconv.load_nif(path, 0, opts)

  def f, do: :erlang.nif_error(:not_loaded)
  def g(_x), do: :erlang.nif_error(:not_loaded)
end

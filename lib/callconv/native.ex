defmodule Callconv.Native do
  @moduledoc false
  # The NIF stubs. Every function here is replaced by the Rust crate callconv_nif.

  @on_load :load_nif

  @doc false
  # callconv's command-line tool, installed beside the NIF by the compiler in mix.exs.
  def executable do
    exe =
      if match?({:win32, _}, :os.type()), do: ~c"native/callconv.exe", else: ~c"native/callconv"

    List.to_string(:filename.join(:code.priv_dir(:callconv), exe))
  end

  def load_nif do
    path = :filename.join(:code.priv_dir(:callconv), ~c"native/libcallconv_nif")

    case :erlang.load_nif(path, 0) do
      :ok ->
        :ok

      {:error, {reason, text}} ->
        :logger.error(
          ~c"callconv: could not load its native library ~s.so (~p: ~s). " ++
            ~c"Run `mix compile` in the project so the Rust crate is built and copied to priv/native.",
          [path, reason, text]
        )

        {:error, reason}
    end
  end

  def check(_path, _target, _module, _functions, _probe, _root, _exports),
    do: :erlang.nif_error(:nif_not_loaded)

  def read_erts(_dir), do: :erlang.nif_error(:nif_not_loaded)
  def target_with_otp(_target, _otp), do: :erlang.nif_error(:nif_not_loaded)
  def target_for_triple(_target, _triple), do: :erlang.nif_error(:nif_not_loaded)
  def host_libc_version, do: :erlang.nif_error(:nif_not_loaded)
  def check_document(_paths, _target, _format, _root), do: :erlang.nif_error(:nif_not_loaded)
  def conventions(_arch), do: :erlang.nif_error(:nif_not_loaded)
  def conventions_chart(_arch, _format), do: :erlang.nif_error(:nif_not_loaded)

  def render_document(_libraries, _errors, _target, _format, _root, _verbose),
    do: :erlang.nif_error(:nif_not_loaded)

  def rules, do: :erlang.nif_error(:nif_not_loaded)
  def file_sha256(_path), do: :erlang.nif_error(:nif_not_loaded)
end

defmodule Callconv.JSON do
  @moduledoc false
  # A small JSON codec for what crosses the boundary with the Rust side (the report the NIF
  # and the command-line tool send, the request Elixir sends them): Elixir 1.14 and OTP 25
  # have no JSON module, and callconv takes no Hex dependency.
  #
  # decode/1 gives generic terms only: objects as maps with binary keys, strings as binaries,
  # null/true/false as nil/true/false. No atom is ever made from the input.
  # encode/1 takes maps (atom or binary keys), lists, binaries, integers, floats, booleans,
  # nil and other atoms (written as their name, which is how serde spells the Rust enums).

  @max_depth 64

  @doc false
  @spec decode(binary()) :: {:ok, term()} | {:error, String.t()}
  def decode(json) when is_binary(json) do
    {value, rest} = value(skip_ws(json), 0)

    case skip_ws(rest) do
      "" -> {:ok, value}
      _ -> {:error, "trailing data after the JSON value"}
    end
  catch
    {:json_error, why} -> {:error, why}
  end

  @doc false
  @spec decode!(binary()) :: term()
  def decode!(json) do
    case decode(json) do
      {:ok, value} -> value
      {:error, why} -> raise ArgumentError, "invalid JSON: #{why}"
    end
  end

  defp fail(why), do: throw({:json_error, why})

  defp skip_ws(<<c, rest::binary>>) when c in [?\s, ?\n, ?\r, ?\t], do: skip_ws(rest)
  defp skip_ws(rest), do: rest

  defp value(_, depth) when depth > @max_depth, do: fail("nested too deeply")
  defp value(<<?{, rest::binary>>, depth), do: object(skip_ws(rest), depth + 1, [])
  defp value(<<?[, rest::binary>>, depth), do: array(skip_ws(rest), depth + 1, [])
  defp value(<<?", rest::binary>>, _), do: string(rest, [])
  defp value(<<"null", rest::binary>>, _), do: {nil, rest}
  defp value(<<"true", rest::binary>>, _), do: {true, rest}
  defp value(<<"false", rest::binary>>, _), do: {false, rest}
  defp value(<<c, _::binary>> = bin, _) when c == ?- or c in ?0..?9, do: number(bin)
  defp value(<<>>, _), do: fail("unexpected end of input")
  defp value(<<c, _::binary>>, _), do: fail("unexpected character #{inspect(<<c>>)}")

  defp object(<<?}, rest::binary>>, _, []), do: {%{}, rest}

  defp object(<<?", rest::binary>>, depth, acc) do
    {key, rest} = string(rest, [])

    case skip_ws(rest) do
      <<?:, rest::binary>> ->
        {v, rest} = value(skip_ws(rest), depth)

        case skip_ws(rest) do
          <<?,, rest::binary>> -> object(skip_ws(rest), depth, [{key, v} | acc])
          <<?}, rest::binary>> -> {:maps.from_list([{key, v} | acc]), rest}
          _ -> fail("expected , or } in an object")
        end

      _ ->
        fail("expected : after an object key")
    end
  end

  defp object(_, _, _), do: fail("expected a string key in an object")

  defp array(<<?], rest::binary>>, _, []), do: {[], rest}

  defp array(bin, depth, acc) do
    {v, rest} = value(bin, depth)

    case skip_ws(rest) do
      <<?,, rest::binary>> -> array(skip_ws(rest), depth, [v | acc])
      <<?], rest::binary>> -> {:lists.reverse([v | acc]), rest}
      _ -> fail("expected , or ] in an array")
    end
  end

  # A string's run without escapes is one sub-binary of the input: counted byte by byte (a
  # match context, no allocation), then taken whole.
  defp string(bin, acc), do: string_run(bin, bin, 0, acc)

  defp string_run(<<?", rest::binary>>, orig, len, []), do: {binary_part(orig, 0, len), rest}

  defp string_run(<<?", rest::binary>>, orig, len, acc),
    do: {IO.iodata_to_binary([acc, binary_part(orig, 0, len)]), rest}

  defp string_run(<<?\\, rest::binary>>, orig, len, acc) do
    {char, rest} = escape(rest)
    string_run(rest, rest, 0, [acc, binary_part(orig, 0, len), char])
  end

  defp string_run(<<_, rest::binary>>, orig, len, acc), do: string_run(rest, orig, len + 1, acc)
  defp string_run(<<>>, _, _, _), do: fail("unterminated string")

  defp escape(<<?", rest::binary>>), do: {?", rest}
  defp escape(<<?\\, rest::binary>>), do: {?\\, rest}
  defp escape(<<?/, rest::binary>>), do: {?/, rest}
  defp escape(<<?b, rest::binary>>), do: {?\b, rest}
  defp escape(<<?f, rest::binary>>), do: {?\f, rest}
  defp escape(<<?n, rest::binary>>), do: {?\n, rest}
  defp escape(<<?r, rest::binary>>), do: {?\r, rest}
  defp escape(<<?t, rest::binary>>), do: {?\t, rest}

  defp escape(<<?u, hex::binary-size(4), rest::binary>>) do
    case hex(hex) do
      high when high in 0xD800..0xDBFF ->
        with <<?\\, ?u, hex2::binary-size(4), rest2::binary>> <- rest,
             low when low in 0xDC00..0xDFFF <- hex(hex2) do
          {<<0x10000 + (high - 0xD800) * 0x400 + (low - 0xDC00)::utf8>>, rest2}
        else
          # A lone surrogate cannot be UTF-8: the replacement character, as serde_json's
          # lossy readers do.
          _ -> {<<0xFFFD::utf8>>, rest}
        end

      low when low in 0xDC00..0xDFFF ->
        {<<0xFFFD::utf8>>, rest}

      code ->
        {<<code::utf8>>, rest}
    end
  end

  defp escape(_), do: fail("invalid escape in a string")

  defp hex(hex) do
    case Integer.parse(hex, 16) do
      {n, ""} -> n
      _ -> fail("invalid \\u escape")
    end
  end

  defp number(bin) do
    rest = bin |> skip_sign() |> skip_digits()

    {float?, rest} =
      case rest do
        <<?., rest::binary>> -> {true, skip_digits(rest)}
        _ -> {false, rest}
      end

    {float?, rest} =
      case rest do
        <<e, s, rest::binary>> when e in [?e, ?E] and s in [?+, ?-] -> {true, skip_digits(rest)}
        <<e, rest::binary>> when e in [?e, ?E] -> {true, skip_digits(rest)}
        _ -> {float?, rest}
      end

    text = binary_part(bin, 0, byte_size(bin) - byte_size(rest))
    if float?, do: {float(text), rest}, else: {int_of(text), rest}
  end

  defp skip_sign(<<?-, rest::binary>>), do: rest
  defp skip_sign(bin), do: bin

  defp skip_digits(<<c, rest::binary>>) when c in ?0..?9, do: skip_digits(rest)
  defp skip_digits(rest), do: rest

  defp int_of(text) do
    :erlang.binary_to_integer(text)
  rescue
    ArgumentError -> fail("invalid number #{inspect(text)}")
  end

  # binary_to_float wants a fraction and no bare exponent: "1e5" is written "1.0e5".
  defp float(text) do
    normal =
      case String.split(String.downcase(text), "e", parts: 2) do
        [mantissa, exp] -> ensure_fraction(mantissa) <> "e" <> exp
        [mantissa] -> ensure_fraction(mantissa)
      end

    :erlang.binary_to_float(normal)
  rescue
    ArgumentError -> fail("invalid number #{inspect(text)}")
  end

  defp ensure_fraction(m), do: if(String.contains?(m, "."), do: m, else: m <> ".0")

  @doc false
  @spec encode(term()) :: iodata()
  def encode(nil), do: "null"
  def encode(true), do: "true"
  def encode(false), do: "false"
  def encode(a) when is_atom(a), do: string_out(Atom.to_string(a))
  def encode(s) when is_binary(s), do: string_out(s)
  def encode(i) when is_integer(i), do: Integer.to_string(i)
  def encode(f) when is_float(f), do: :erlang.float_to_binary(f, [:short])

  def encode(list) when is_list(list) do
    [?[, Enum.map_intersperse(list, ?,, &encode/1), ?]]
  end

  def encode(%_{} = struct), do: struct |> Map.from_struct() |> encode()

  def encode(map) when is_map(map) do
    pairs =
      Enum.map_intersperse(map, ?,, fn {k, v} ->
        [string_out(key(k)), ?:, encode(v)]
      end)

    [?{, pairs, ?}]
  end

  defp key(k) when is_atom(k), do: Atom.to_string(k)
  defp key(k) when is_binary(k), do: k

  @escaped ["\"", "\\"] ++ Enum.map(0..31, &<<&1>>)

  @escaped_but_newline @escaped -- ["\n"]

  # Most strings (names, versions, paths) need no escape, and the long one (the target's
  # vm_exports, one name per line) only its newlines: native scans tell, and
  # binary:replace does the newlines.
  defp string_out(s) do
    cond do
      :binary.match(s, pattern(:escaped)) == :nomatch ->
        [?", s, ?"]

      :binary.match(s, pattern(:escaped_but_newline)) == :nomatch ->
        [?", :binary.replace(s, "\n", "\\n", [:global]), ?"]

      true ->
        [?", escape_out(s, 0, s, []), ?"]
    end
  end

  # Compiled once per VM: compiling a 33-needle pattern costs more than scanning a name.
  defp pattern(name) do
    key = {__MODULE__, name}

    case :persistent_term.get(key, nil) do
      nil ->
        needles = if name == :escaped, do: @escaped, else: @escaped_but_newline
        compiled = :binary.compile_pattern(needles)
        :persistent_term.put(key, compiled)
        compiled

      compiled ->
        compiled
    end
  end

  defp escape_out(<<c, rest::binary>>, len, orig, acc) when c < 32 or c == ?" or c == ?\\ do
    start = byte_size(orig) - byte_size(rest) - 1 - len
    acc = [acc, binary_part(orig, start, len), escaped(c)]
    escape_out(rest, 0, orig, acc)
  end

  defp escape_out(<<_, rest::binary>>, len, orig, acc), do: escape_out(rest, len + 1, orig, acc)

  defp escape_out(<<>>, len, orig, acc),
    do: [acc, binary_part(orig, byte_size(orig) - len, len)]

  defp escaped(?"), do: "\\\""
  defp escaped(?\\), do: "\\\\"
  defp escaped(?\n), do: "\\n"
  defp escaped(?\r), do: "\\r"
  defp escaped(?\t), do: "\\t"

  defp escaped(c),
    do: "\\u00" <> String.pad_leading(Integer.to_string(c, 16), 2, "0")
end

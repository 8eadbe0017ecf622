defmodule Callconv.Wire do
  @moduledoc false
  # What crosses the boundary with the Rust side, on the Elixir side: the check request
  # Elixir writes, and the report the NIF and `callconv isolated` both send back as JSON (one
  # serde definition, `callconv::wire`).
  #
  # The report is decoded generically against @report below, the one description of its
  # shape on this side: a JSON key becomes an atom only through these tables, an enum value
  # only through its table (an unknown value stays a string), so no atom is ever made from a
  # file's contents. Unknown keys are skipped, and absent ones take their default; in strict
  # mode (the cross-boundary test) both are errors, so a field added on one side only fails;
  # only the keys serde leaves out when empty or default ({:optional, type, default}) may be
  # absent.

  alias Callconv.{Error, Finding, Nif, Report, Target}

  enum = fn atoms -> {:enum, Map.new(atoms, &{Atom.to_string(&1), &1})} end
  fields = fn pairs -> for {key, type} <- pairs, do: {key, Atom.to_string(key), type} end

  @arch enum.(
          ~w(x86 x86_64 aarch64 arm riscv32 riscv64 powerpc powerpc64 mips mips64 sparc sparc64
             s390x loongarch64 unknown)a
        )

  @finding {:struct, Finding,
            fields.(
              rule: :string,
              severity: enum.(~w(error warning info)a),
              message: :string,
              hint: :string
            )}

  @nif {:struct, Nif,
        fields.(
          major: :integer,
          minor: :integer,
          module: :string,
          functions:
            {:list,
             {:struct, Nif.Function, fields.(name: :string, arity: :integer, flags: :integer)}},
          load: :boolean,
          reload: :boolean,
          upgrade: :boolean,
          unload: :boolean,
          vm_variant: {:nullable, :string},
          options: {:nullable, :integer},
          min_erts: {:nullable, :string},
          decoded_by: :string
        )}

  @function {:map,
   fields.(
     name: :string,
     address: :integer,
     observed:
       {:map,
        fields.(
          args_read: {:list, :string},
          stack_args_read: {:list, :integer},
          callee_saved_touched: {:list, :string},
          cleanup: :integer,
          stack_balanced: :boolean,
          exits: :integer
        )},
     expected_convention: :string,
     matches_best: {:nullable, :string},
     capped: {:nullable, :string},
     instructions: :integer,
     # Exports mode only.
     matches: {:optional, {:list, :string}, nil}
   )}

  @isa {:map,
        fields.(
          features:
            {:list,
             {:map,
              fields.(
                flag: :string,
                instruction: :string,
                address: :integer,
                reached_from: :string
              )}},
          x86_64_level: {:nullable, :integer},
          guarded: :boolean,
          guard: {:nullable, :string},
          instructions: :integer,
          capped: :boolean
        )}

  @exports {:map,
   fields.(
     conventions: {:list, :string},
     exports: :integer,
     data: :integer,
     aliases: :integer,
     analysed: :integer,
     not_analysed: :integer,
     capped: :integer,
     errors: :integer,
     # Keyed by convention id: the keys stay strings.
     matched: {:string_map, :integer},
     instructions: :integer,
     states: :integer,
     budget_exhausted: {:nullable, :string}
   )}

  @macho {:map,
          fields.(
            file_type: :string,
            platform: {:nullable, :string},
            min_os: {:nullable, :string},
            sdk: {:nullable, :string},
            install_name: {:nullable, :string},
            rpaths: {:list, :string},
            weak_dylibs: {:list, :string},
            reexported_dylibs: {:list, :string},
            fixups: :string,
            slices:
              {:list,
               {:map,
                fields.(
                  arch: @arch,
                  abi_variant: {:nullable, :string},
                  primary: :boolean,
                  file_type: :string,
                  min_os: {:nullable, :string},
                  sdk: {:nullable, :string},
                  needed: {:list, :string}
                )}}
          )}

  @report {:struct, Report,
   fields.(
     path: :string,
     sha256: :string,
     verdict: enum.(~w(pass warn fail)a),
     kind: enum.(~w(nif driver library unknown)a),
     format: enum.([:elf, :macho, :"macho-fat", :pe, :unknown]),
     arch: @arch,
     bits: :integer,
     endian: enum.(~w(little big)a),
     abi: {:nullable, :string},
     needed: {:list, :string},
     nif: {:nullable, @nif},
     findings: {:list, @finding},
     libc: {:nullable, :string},
     floors:
       {:map,
        fields.(
          glibc: {:nullable, :string},
          glibcxx: {:nullable, :string},
          cxxabi: {:nullable, :string},
          gcc: {:nullable, :string}
        )},
     gnu_properties:
       {:nullable,
        {:map,
         fields.(
           x86_isa_needed: {:nullable, :string},
           x86_features: {:list, :string},
           aarch64_features: {:list, :string}
         )}},
     # Left out when empty, absent, or (the mode) the default.
     functions: {:optional, {:list, @function}, []},
     isa: {:optional, @isa, nil},
     mode: {:optional, enum.(~w(nif exports)a), :nif},
     exports: {:optional, @exports, nil},
     elf:
       {:nullable,
        {:map,
         fields.(
           soname: {:nullable, :string},
           runpath: {:list, :string},
           rpath: {:list, :string},
           interpreter: {:nullable, :string},
           arm_eabi: {:nullable, :integer},
           mips_nan: {:optional, enum.(~w(legacy ieee2008)a), nil}
         )}},
     macho: {:nullable, @macho},
     pe:
       {:nullable,
        {:map,
         fields.(
           subsystem: :string,
           dynamic_base: :boolean,
           nx_compat: :boolean,
           guard_cf: :boolean,
           high_entropy_va: :boolean,
           delay_imports: {:list, :string}
         )}}
   )}

  @error {:struct, Error,
          fields.(
            reason:
              enum.([
                :"not-found",
                :"permission-denied",
                :io,
                :"not-regular",
                :empty,
                :"too-large",
                :"unknown-format",
                :malformed
              ]),
            path: :string,
            message: :string
          )}

  @typedoc "`:strict` refuses unknown and absent keys and values of the wrong type."
  @type mode :: :lenient | :strict

  @doc false
  # The report the NIF returns, from its JSON.
  @spec report(binary(), mode()) :: Report.t()
  def report(json, mode \\ :lenient), do: decode(@report, Callconv.JSON.decode!(json), mode)

  @doc false
  # What `callconv isolated` writes: `{"ok": report}` or `{"error": error}`.
  @spec outcome(binary()) :: {:ok, Report.t()} | {:error, Error.t()}
  def outcome(json) do
    case Callconv.JSON.decode!(json) do
      %{"ok" => report} -> {:ok, decode(@report, report, :lenient)}
      %{"error" => error} -> {:error, decode(@error, error, :lenient)}
    end
  end

  @doc false
  # Every key of the structs and maps of a report, as the decoder knows them: the
  # cross-boundary test compares it with the structs' own fields.
  @spec report_schema() :: term()
  def report_schema, do: @report

  @doc false
  # The check request (`callconv::wire::CheckRequest`) as JSON. Paths are not in it: they
  # travel beside it, byte for byte.
  @spec request(Target.t(), keyword()) :: binary()
  def request(%Target{} = target, opts) do
    pairs = fn list -> list && Enum.map(list, fn {name, arity} -> [name, arity] end) end

    # Never empty: it always has probe_unsandboxed and exports.
    "{" <> rest =
      %{
        module: opts[:module],
        functions: pairs.(opts[:functions]),
        declared_nifs: pairs.(opts[:declared_nifs]),
        probe_unsandboxed: opts[:probe_unsandboxed] == true,
        exports: opts[:exports] == true
      }
      |> Callconv.JSON.encode()
      |> IO.iodata_to_binary()

    ~s({"target":) <> target_json(target) <> "," <> rest
  end

  # The running VM's target is the same for every check, and encoding its 70 KB of exported
  # names costs more than checking a small NIF: it is encoded once and kept (replaced only
  # when it changes, which a VM's own target does not).
  defp target_json(%Target{source: :"running-vm"} = target) do
    key = {__MODULE__, :running_vm_target}

    case :persistent_term.get(key, nil) do
      {^target, json} ->
        json

      _ ->
        json = encode_target(target)
        :persistent_term.put(key, {target, json})
        json
    end
  end

  defp target_json(target), do: encode_target(target)

  defp encode_target(target), do: target |> Callconv.JSON.encode() |> IO.iodata_to_binary()

  defp decode({:struct, module, fields}, %{} = map, mode),
    do: struct!(module, decode_fields(fields, map, mode, module))

  defp decode({:map, fields}, %{} = map, mode),
    do: Map.new(decode_fields(fields, map, mode, :map))

  defp decode({:list, type}, list, mode) when is_list(list),
    do: Enum.map(list, &decode(type, &1, mode))

  defp decode({:nullable, _}, nil, _), do: nil
  defp decode({:nullable, type}, value, mode), do: decode(type, value, mode)
  defp decode({:optional, type, _}, value, mode), do: decode(type, value, mode)

  defp decode({:enum, table}, value, mode) when is_binary(value) do
    case table do
      %{^value => atom} -> atom
      _ when mode == :strict -> raise ArgumentError, "unknown value #{inspect(value)}"
      _ -> value
    end
  end

  defp decode({:string_map, type}, %{} = map, mode),
    do: Map.new(map, fn {k, v} -> {k, decode(type, v, mode)} end)

  defp decode(:string, value, _) when is_binary(value), do: value
  defp decode(:integer, value, _) when is_integer(value), do: value
  defp decode(:boolean, value, _) when is_boolean(value), do: value
  # A value of another type than expected: kept as it is, unless strict.
  defp decode(_, value, :lenient), do: value

  defp decode(type, value, :strict),
    do: raise(ArgumentError, "expected #{inspect(type)}, got #{inspect(value)}")

  defp decode_fields(fields, map, mode, where) do
    {pairs, consumed} =
      Enum.map_reduce(fields, 0, fn {key, name, type}, consumed ->
        case map do
          %{^name => value} ->
            {{key, decode(type, value, mode)}, consumed + 1}

          _ when mode == :strict and not is_tuple(type) ->
            missing!(where, name)

          _ when mode == :strict and elem(type, 0) != :optional ->
            missing!(where, name)

          _ ->
            {{key, absent(type)}, consumed}
        end
      end)

    if mode == :strict and consumed != map_size(map) do
      known = for {_, name, _} <- fields, do: name
      unknown = Map.keys(map) -- known
      raise ArgumentError, "#{inspect(where)}: unknown keys #{inspect(unknown)}"
    end

    pairs
  end

  defp missing!(where, name),
    do: raise(ArgumentError, "#{inspect(where)}: key #{inspect(name)} is absent")

  defp absent({:nullable, _}), do: nil
  defp absent({:list, _}), do: []
  defp absent({:optional, _, value}), do: value
  defp absent(_), do: nil
end

defmodule Callconv.Isolated do
  @moduledoc false
  # `isolation: :process`: the check runs in callconv's command-line tool, a separate OS
  # process, and comes back as an external term (binary keys, no atoms made from the file).
  # Enum values become atoms only through the fixed tables below.

  alias Callconv.{Error, Finding, Nif, Report, Target}

  @atoms %{
    verdict: ~w(pass warn fail)a,
    kind: ~w(nif driver library unknown)a,
    format: [:elf, :macho, :"macho-fat", :pe, :unknown],
    endian: ~w(little big)a,
    mode: ~w(nif exports)a,
    severity: ~w(error warning info)a,
    arch: ~w(x86 x86_64 aarch64 arm riscv32 riscv64 powerpc powerpc64 mips mips64 sparc sparc64
         s390x loongarch64 unknown)a,
    reason: [
      :"not-found",
      :"permission-denied",
      :io,
      :"not-regular",
      :empty,
      :"too-large",
      :"unknown-format",
      :malformed
    ]
  }

  @spec check(
          binary(),
          Target.t(),
          String.t() | nil,
          [{String.t(), arity()}] | nil,
          [{String.t(), arity()}] | nil,
          {String.t(), boolean()} | nil,
          String.t() | nil,
          boolean()
        ) :: {:ok, Report.t()} | {:error, Error.t()}
  def check(
        path,
        %Target{} = target,
        module,
        functions,
        nifs,
        probe,
        root \\ nil,
        exports \\ false
      ) do
    args =
      ["isolated"] ++
        target_args(target) ++
        if(module, do: ["--module", module], else: []) ++
        Enum.flat_map(functions || [], fn {f, a} -> ["--function", "#{f}/#{a}"] end) ++
        Enum.flat_map(nifs || [], fn {f, a} -> ["--declared-nif", "#{f}/#{a}"] end) ++
        probe_args(probe) ++
        if(root, do: ["--root", root], else: []) ++
        if(exports, do: ["--exports"], else: []) ++ [path]

    case System.cmd(Callconv.Native.executable(), args, stderr_to_stdout: false) do
      {out, 0} -> decode(:erlang.binary_to_term(out, [:safe]))
      {out, status} -> raise "callconv's isolated check exited with #{status}: #{out}"
    end
  end

  defp probe_args(nil), do: []
  defp probe_args({exe, false}), do: ["--probe-exe", exe]
  defp probe_args({exe, true}), do: ["--probe-exe", exe, "--probe-unsandboxed"]

  defp target_args(t) do
    [
      {"--source", t.source},
      {"--otp", t.otp_release},
      {"--erts-version", t.erts_version},
      {"--nif-version", t.nif_version},
      {"--arch", t.arch},
      {"--os", t.os},
      {"--bits", t.bits},
      {"--endian", t.endian},
      {"--libc", t.libc},
      {"--libc-version", t.libc_version},
      {"--abi-variant", t.abi_variant},
      {"--os-version", t.os_version},
      {"--enif-exports", t.enif_exports && Enum.join(t.enif_exports, ",")},
      # About 70 KB for OTP 25's beam.smp: below Linux's 128 KiB limit for one argument.
      {"--vm-exports", t.vm_exports},
      {"--vm-bind-now", t.vm_bind_now}
    ]
    |> Enum.reject(fn {_, v} -> is_nil(v) end)
    |> Enum.flat_map(fn {k, v} -> [k, to_string(v)] end)
  end

  defp decode(%{"ok" => r}) do
    {:ok,
     %Report{
       path: r["path"],
       sha256: r["sha256"],
       verdict: atom(:verdict, r["verdict"]),
       kind: atom(:kind, r["kind"]),
       format: atom(:format, r["format"]),
       arch: atom(:arch, r["arch"]),
       bits: r["bits"],
       endian: atom(:endian, r["endian"]),
       abi: r["abi"],
       needed: r["needed"],
       nif: nif(r["nif"]),
       findings: Enum.map(r["findings"], &finding/1),
       libc: r["libc"],
       floors: floors(r["floors"]),
       gnu_properties: gnu_properties(r["gnu_properties"]),
       functions: Enum.map(r["functions"] || [], &analysed_function/1),
       isa: isa(r["isa"]),
       elf: elf(r["elf"]),
       macho: macho(r["macho"]),
       pe: pe(r["pe"]),
       mode: atom(:mode, r["mode"] || "nif"),
       exports: exports(r["exports"])
     }}
  end

  defp decode(%{"error" => e}) do
    {:error, %Error{reason: atom(:reason, e["reason"]), path: e["path"], message: e["message"]}}
  end

  defp nif(nil), do: nil

  defp nif(n) do
    %Nif{
      major: n["major"],
      minor: n["minor"],
      module: n["module"],
      functions:
        Enum.map(n["functions"], fn f ->
          %Nif.Function{name: f["name"], arity: f["arity"], flags: f["flags"]}
        end),
      load: n["load"],
      reload: n["reload"],
      upgrade: n["upgrade"],
      unload: n["unload"],
      vm_variant: n["vm_variant"],
      options: n["options"],
      min_erts: n["min_erts"],
      decoded_by: n["decoded_by"]
    }
  end

  defp floors(f) do
    %{glibc: f["glibc"], glibcxx: f["glibcxx"], cxxabi: f["cxxabi"], gcc: f["gcc"]}
  end

  defp analysed_function(f) do
    o = f["observed"]

    %{
      name: f["name"],
      address: f["address"],
      observed: %{
        args_read: o["args_read"],
        stack_args_read: o["stack_args_read"],
        callee_saved_touched: o["callee_saved_touched"],
        cleanup: o["cleanup"],
        stack_balanced: o["stack_balanced"],
        exits: o["exits"]
      },
      expected_convention: f["expected_convention"],
      matches_best: f["matches_best"],
      capped: f["capped"],
      instructions: f["instructions"],
      matches: f["matches"]
    }
  end

  defp exports(nil), do: nil

  defp exports(e) do
    %{
      conventions: e["conventions"],
      exports: e["exports"],
      data: e["data"],
      aliases: e["aliases"],
      analysed: e["analysed"],
      not_analysed: e["not_analysed"],
      capped: e["capped"],
      errors: e["errors"],
      matched: e["matched"],
      instructions: e["instructions"],
      states: e["states"],
      budget_exhausted: e["budget_exhausted"]
    }
  end

  defp isa(nil), do: nil

  defp isa(i) do
    %{
      features:
        Enum.map(i["features"], fn f ->
          %{flag: f["flag"], address: f["address"], reached_from: f["reached_from"]}
        end),
      x86_64_level: i["x86_64_level"],
      guarded: i["guarded"],
      guard: i["guard"],
      instructions: i["instructions"],
      capped: i["capped"]
    }
  end

  defp gnu_properties(nil), do: nil

  defp gnu_properties(p) do
    %{
      x86_isa_needed: p["x86_isa_needed"],
      x86_features: p["x86_features"],
      aarch64_features: p["aarch64_features"]
    }
  end

  defp elf(nil), do: nil

  defp elf(e) do
    %{
      soname: e["soname"],
      runpath: e["runpath"],
      rpath: e["rpath"],
      interpreter: e["interpreter"],
      arm_eabi: e["arm_eabi"]
    }
  end

  defp macho(nil), do: nil

  defp macho(m) do
    %{
      file_type: m["file_type"],
      platform: m["platform"],
      min_os: m["min_os"],
      sdk: m["sdk"],
      install_name: m["install_name"],
      rpaths: m["rpaths"],
      weak_dylibs: m["weak_dylibs"],
      reexported_dylibs: m["reexported_dylibs"],
      fixups: m["fixups"],
      slices:
        Enum.map(m["slices"], fn s ->
          %{
            arch: atom(:arch, s["arch"]),
            abi_variant: s["abi_variant"],
            primary: s["primary"],
            file_type: s["file_type"],
            min_os: s["min_os"],
            sdk: s["sdk"],
            needed: s["needed"]
          }
        end)
    }
  end

  defp pe(nil), do: nil

  defp pe(p) do
    %{
      subsystem: p["subsystem"],
      dynamic_base: p["dynamic_base"],
      nx_compat: p["nx_compat"],
      guard_cf: p["guard_cf"],
      high_entropy_va: p["high_entropy_va"],
      delay_imports: p["delay_imports"]
    }
  end

  defp finding(f) do
    %Finding{
      rule: f["rule"],
      severity: atom(:severity, f["severity"]),
      message: f["message"],
      hint: f["hint"]
    }
  end

  defp atom(kind, value) do
    Enum.find(Map.fetch!(@atoms, kind), :unknown, &(Atom.to_string(&1) == value))
  end
end

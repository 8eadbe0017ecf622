defmodule Callconv.ConventionsTest do
  use ExUnit.Case, async: true

  alias Callconv.Convention

  test "the model covers every architecture of the seeds" do
    arches = Callconv.conventions() |> Enum.map(& &1.arch) |> MapSet.new()

    for arch <- ~w(x86 x86_64 aarch64 arm riscv64 powerpc64 powerpc mips mips64 sparc sparc64
                   s390x loongarch64) do
      assert arch in arches, "no convention for #{arch}"
    end
  end

  test "key facts come through as terms" do
    by_id = Map.new(Callconv.conventions(), &{&1.id, &1})

    assert %Convention{stack_cleanup: :callee, int_args: []} = by_id["x86-stdcall"]

    assert %Convention{int_args: ["ecx", "edx"], stack_cleanup: :callee} =
             by_id["x86-fastcall-msvc"]

    assert %Convention{shadow_space: 32, red_zone: 0} = by_id["x86_64-win64"]
    assert "xmm6" in by_id["x86_64-win64"].callee_saved

    assert %{reg: "v8", preserved_bits: 64, preserved_view: "d8"} =
             hd(by_id["aarch64-aapcs64"].partially_saved)

    assert Enum.any?(by_id["aarch64-apple"].reserved, &(&1.reg == "x18"))
    assert by_id["threaded-code"].is_calling_convention == false
  end

  test "the report's abi id is a convention of the model" do
    {:ok, report} = Callconv.check(Callconv.Fixtures.host("hello_nif.so"))

    assert [%Convention{arch: "x86_64"}] =
             Enum.filter(Callconv.conventions(), &(&1.id == report.abi))
  end

  describe "mix callconv.conventions" do
    defp run_task(args) do
      Mix.Task.reenable("callconv.conventions")
      Mix.Tasks.Callconv.Conventions.run(args)
      assert_received {:mix_shell, :info, [out]}
      out
    end

    test "table for one arch" do
      out = run_task(["--arch", "x86"])
      assert out =~ "x86-stdcall"
      assert out =~ "x86-regparm3"
      refute out =~ "x86_64-sysv"
      assert out =~ "callee-saved"
    end

    test "markdown and json" do
      assert run_task(["--format", "markdown", "--arch", "arm"]) =~ "| arm-aapcs-vfp"
      json = run_task(["--format", "json", "--arch", "s390x"])
      assert json =~ ~s("id": "s390x-elf")
      assert json =~ ~s("stack_cleanup": "caller")
      refute json =~ ~s("id": "x86_64-sysv")
    end

    test "usage errors exit with status 2" do
      for args <- [["--arch", "z80"], ["--format", "pdf"], ["--bogus"]] do
        Mix.Task.reenable("callconv.conventions")
        error = assert_raise Mix.Error, fn -> Mix.Tasks.Callconv.Conventions.run(args) end
        assert error.mix == 2
      end
    end
  end
end

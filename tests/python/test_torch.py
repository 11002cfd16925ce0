"""PyTorch tensors: CPU tensors through both codecs and the coordinator, and, on a CUDA machine with
a CUDA build, the GPU encoder and decoders from Python: frames byte-identical to the CPU's, decodes
from host and device frames, progressive decodes, decoding into CUDA tensors through the
coordinator, and a damaged frame caught on the device. Skipped where PyTorch is absent
(scripts/gpu_test.sh runs them on the GPU machine, where it is installed)."""
import pytest

import saraphis

torch = pytest.importorskip("torch")

gpu = pytest.mark.skipif(not (torch.cuda.is_available() and saraphis.gpu_available()),
                         reason="needs a CUDA device and a CUDA build of libsaraphis")
DTYPES = [torch.float32, torch.bfloat16, torch.float16]


def weights(dtype, shape=(512, 700), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=generator) * 0.02).to(dtype)


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(
        a.contiguous().view(torch.uint8), b.contiguous().view(torch.uint8))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_cpu_tensors(dtype):
    tensor = weights(dtype)
    frame = saraphis.compress(tensor)
    raw = tensor.view(torch.uint8).numpy().tobytes()  # the same bytes, as NumPy would hand them
    assert frame == saraphis.compress(raw, dtype=str(dtype).replace("torch.", ""))
    back = saraphis.decompress(frame, shape=tensor.shape, like="torch")
    assert isinstance(back, torch.Tensor) and same_bits(back, tensor)
    strided = tensor.t()[::2]
    assert saraphis.compress(strided) == saraphis.compress(strided.contiguous())
    with saraphis.System() as system:
        result = system.compress(strided, metadata={"layer": 1})
        again = system.decompress(result)
        assert isinstance(again, torch.Tensor) and same_bits(again, strided.contiguous())


def test_files_with_torch(tmp_path):
    state = {"w": weights(torch.bfloat16), "b": weights(torch.float32, (700,))}
    saraphis.save(tmp_path / "m.sps", state)
    loaded = saraphis.load(tmp_path / "m.sps", like="torch")
    assert all(same_bits(loaded[name], state[name]) for name in state)


@gpu
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("bound", [None, 1e-3, 1e-5])
def test_gpu_frames_are_the_cpus(dtype, bound):
    tensor = weights(dtype, (1024, 1500))
    settings = {} if bound is None else {"error_bound": bound}
    with saraphis.Codec(**settings) as codec:
        cpu_frame = codec.compress(tensor)
        gpu_frame = codec.compress(tensor.cuda())
        assert gpu_frame == cpu_frame
        expected = codec.decompress(cpu_frame, tensor.shape, like="torch")
        from_host = codec.decompress(cpu_frame, tensor.shape, like="torch", device="cuda")
        assert from_host.is_cuda and same_bits(from_host.cpu(), expected)
        device_frame = codec.compress(tensor.cuda(), keep_on_device=True)
        assert device_frame.is_cuda and bytes(device_frame.cpu().numpy()) == cpu_frame
        from_device = codec.decompress(device_frame, tensor.shape, like="torch", device="cuda")
        assert same_bits(from_device.cpu(), expected)
        if bound is not None:
            error = (expected.double() - tensor.double()).abs().max().item()
            assert error <= bound
            for planes in (1, 2):
                cpu, cpu_bound = codec.decompress_planes(cpu_frame, planes, tensor.shape,
                                                         like="torch")
                dev, dev_bound = codec.decompress_planes(cpu_frame, planes, tensor.shape,
                                                         like="torch", device="cuda")
                assert same_bits(dev.cpu(), cpu) and dev_bound == cpu_bound


@gpu
def test_gpu_damage_and_coordinator():
    tensor = weights(torch.float32, (2048, 512))
    frame = bytearray(saraphis.compress(tensor))
    frame[len(frame) // 2] ^= 0x08
    with pytest.raises((saraphis.ChecksumError, saraphis.CorruptError)):
        saraphis.decompress(bytes(frame), tensor.shape, like="torch", device="cuda")
    device_frame = torch.frombuffer(frame, dtype=torch.uint8).cuda()
    with pytest.raises((saraphis.ChecksumError, saraphis.CorruptError)):
        saraphis.decompress(device_frame, tensor.shape, like="torch", device="cuda")
    with pytest.raises(saraphis.TruncatedError):
        saraphis.decompress(device_frame[:20], like="torch", device="cuda")
    with saraphis.System() as system:
        result = system.compress(tensor)
        back = system.decompress(result, device="cuda")
        assert back.is_cuda and same_bits(back.cpu(), tensor)
        with pytest.raises(saraphis.UnsupportedError):
            system.compress(tensor.cuda())  # the coordinator reads host memory (docs/coordinator.md)

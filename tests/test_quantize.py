import numpy as np
import pytest
import torch

from dac_minimal.quantize import ResidualVectorQuantize, VectorQuantize


def test_nearest_is_cosine_nearest_neighbour():
    vq = VectorQuantize(16, codebook_size=32, codebook_dim=4)
    z_e = torch.randn(3, 4, 20)
    codes = vq.nearest(z_e).numpy()
    a = z_e.permute(0, 2, 1).numpy()
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    book = vq.codebook.weight.detach().numpy()
    book = book / np.linalg.norm(book, axis=-1, keepdims=True)
    dist = ((a[:, :, None, :] - book[None, None]) ** 2).sum(-1)
    np.testing.assert_array_equal(codes, dist.argmin(-1))


def test_straight_through_gradients_reach_the_encoder_not_the_codebook():
    vq = VectorQuantize(16, codebook_size=32, codebook_dim=4)
    z = torch.randn(2, 16, 10, requires_grad=True)
    out = vq(z)
    # forward uses the code: z_q equals out_proj(e)
    torch.testing.assert_close(out.z_q, vq.decode_code(out.codes[:, 0]), atol=1e-5, rtol=1e-5)
    # a reconstruction loss on z_q reaches z (straight-through) but does not move the codebook
    (out.z_q**2).sum().backward(retain_graph=True)
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert vq.codebook.weight.grad is None or vq.codebook.weight.grad.abs().sum() == 0
    # the codebook loss moves the codebook only
    z.grad = None
    out.codebook_loss.sum().backward(retain_graph=True)
    assert vq.codebook.weight.grad.abs().sum() > 0
    assert z.grad is None or z.grad.abs().sum() == 0
    # the commitment loss moves the encoder side only
    vq.codebook.weight.grad = None
    out.commitment_loss.sum().backward()
    assert z.grad.abs().sum() > 0
    assert vq.codebook.weight.grad is None or vq.codebook.weight.grad.abs().sum() == 0


def test_vq_losses_are_mean_squared_distances():
    vq = VectorQuantize(8, codebook_size=16, codebook_dim=4)
    z = torch.randn(2, 8, 5)
    out = vq(z)
    z_e = vq.in_proj(z)
    e = vq.embed(out.codes[:, 0])
    expected = ((z_e - e) ** 2).mean(dim=(1, 2))
    torch.testing.assert_close(out.codebook_loss, expected)
    torch.testing.assert_close(out.commitment_loss, expected)


def _items_quantizer_count(rvq, z_q, codes):
    """For each item, the k whose first-k decode equals z_q (None if none does)."""
    counts = []
    for b in range(z_q.shape[0]):
        match = [
            k
            for k in range(1, rvq.n_codebooks + 1)
            if torch.allclose(rvq.from_codes(codes[b : b + 1, :k]), z_q[b : b + 1], atol=1e-5)
        ]
        counts.append(match[0] if match else None)
    return counts


def test_quantizer_dropout_in_training_but_not_in_eval():
    rvq = ResidualVectorQuantize(
        16, n_codebooks=9, codebook_size=64, codebook_dim=4, quantizer_dropout=1.0
    )
    z = torch.randn(16, 16, 6)
    rvq.train()
    out = rvq(z)
    assert out.codes.shape == (16, 9, 6)
    counts = _items_quantizer_count(rvq, out.z_q, out.codes)
    assert None not in counts and min(counts) < 9
    rvq.eval()
    out = rvq(z)
    assert _items_quantizer_count(rvq, out.z_q, out.codes) == [9] * 16


def test_half_dropout_keeps_the_rest_of_the_batch_at_full_bitrate():
    rvq = ResidualVectorQuantize(
        16, n_codebooks=4, codebook_size=64, codebook_dim=4, quantizer_dropout=0.5
    ).train()
    z = torch.randn(8, 16, 3)
    out = rvq(z)
    counts = _items_quantizer_count(rvq, out.z_q, out.codes)
    assert counts[4:] == [4, 4, 4, 4]


@pytest.mark.parametrize("training", [True, False])
def test_n_quantizers_is_honoured_in_both_modes(training):
    rvq = ResidualVectorQuantize(
        16, n_codebooks=5, codebook_size=64, codebook_dim=4, quantizer_dropout=1.0
    )
    rvq.train(training)
    z = torch.randn(4, 16, 7)
    out = rvq(z, n_quantizers=3)
    assert out.codes.shape == (4, 3, 7) and out.latents.shape == (4, 12, 7)
    torch.testing.assert_close(out.z_q, rvq.from_codes(out.codes), atol=1e-5, rtol=1e-5)


def test_each_quantizer_codes_the_residual_of_the_previous_ones():
    rvq = ResidualVectorQuantize(8, n_codebooks=4, codebook_size=64, codebook_dim=4).eval()
    z = torch.randn(2, 8, 30)
    with torch.no_grad():
        out = rvq(z)
        residual = z
        for i, q in enumerate(rvq.quantizers):
            assert torch.equal(out.codes[:, i], q.nearest(q.in_proj(residual)))
            residual = residual - q.decode_code(out.codes[:, i])
        torch.testing.assert_close(out.z_q, z - residual, atol=1e-5, rtol=1e-5)


def test_from_latents_recovers_codes():
    rvq = ResidualVectorQuantize(16, n_codebooks=3, codebook_size=64, codebook_dim=4).eval()
    out = rvq(torch.randn(2, 16, 5))
    z_q, codes = rvq.from_latents(out.latents)
    assert torch.equal(codes, out.codes)
    torch.testing.assert_close(z_q, out.z_q, atol=1e-5, rtol=1e-5)


def test_code_reviver_moves_unused_entries_onto_encoder_outputs_and_keeps_used_ones():
    from dac_minimal.quantize import CodeReviver

    torch.manual_seed(0)
    rvq = ResidualVectorQuantize(16, n_codebooks=2, codebook_size=32, codebook_dim=4)
    reviver = CodeReviver(rvq, every=2, noise=0.0)
    codes = torch.zeros(2, 2, 5, dtype=torch.long)
    codes[:, 1] = torch.tensor(
        [3, 4, 5, 6, 7]
    )  # codebook 0 uses entry 0 only, codebook 1 uses 3..7
    latents = torch.randn(2, 8, 5)
    before = [q.codebook.weight.detach().clone() for q in rvq.quantizers]
    assert all(
        len(r) == 0 for r in reviver.update(codes, latents)
    )  # inside the window: nothing yet
    assert int(reviver.counts[0, 0]) == 10 and int(reviver.counts[1, 3]) == 2
    revived = reviver.update(codes, latents)
    assert revived[0].tolist() == list(range(1, 32)) and len(revived[1]) == 27
    for i, q in enumerate(rvq.quantizers):
        used = torch.ones(32, dtype=torch.bool)
        used[revived[i]] = False
        torch.testing.assert_close(q.codebook.weight[used], before[i][used], rtol=0, atol=0)
        # every revived entry now sits on one of this codebook's 10 latent vectors
        z = latents[:, 4 * i : 4 * (i + 1)].transpose(1, 2).reshape(-1, 4)
        dist = (
            (q.codebook.weight[revived[i]].detach()[:, None] - z[None])
            .abs()
            .sum(-1)
            .min(dim=1)
            .values
        )
        assert dist.max() < 1e-6
    assert reviver.counts.sum() == 0 and reviver.n_revived == 31 + 27
    state = reviver.state_dict()
    other = CodeReviver(rvq, every=2)
    other.load_state_dict(state)
    assert other.calls == 2 and other.n_revived == 58


def test_code_reviver_draws_distinct_frames_from_every_batch_of_the_window():
    from dac_minimal.quantize import CodeReviver

    torch.manual_seed(0)
    rvq = ResidualVectorQuantize(16, n_codebooks=1, codebook_size=64, codebook_dim=4)
    reviver = CodeReviver(rvq, every=4, noise=0.0, pool=40)  # 10 frames kept per step
    codes = torch.zeros(1, 1, 30, dtype=torch.long)  # only entry 0 is used: 63 entries die
    batches = [torch.randn(1, 4, 30) + 10 * k for k in range(4)]  # four batches, far apart
    for latents in batches:
        revived = reviver.update(codes, latents)
    assert len(revived[0]) == 63
    new = rvq.quantizers[0].codebook.weight[revived[0]].detach()
    near = torch.stack(
        [(new[:, None] - b[0].T[None]).abs().sum(-1).min(1).values < 1e-6 for b in batches]
    )
    assert near.any(0).all()  # every revived entry sits on a frame of one of the batches...
    assert (near.sum(1) >= 10).all()  # ...each batch gave its 10 pool frames (63 > 40: all used)...
    assert len(torch.unique(new, dim=0)) == 40  # ...and the first 40 picks were distinct frames
    other = CodeReviver(rvq, every=4, pool=40)
    other.load_state_dict(reviver.state_dict())
    torch.testing.assert_close(other.pool, reviver.pool)
    with pytest.raises(ValueError, match="pool"):
        CodeReviver(rvq, every=4, pool=80).load_state_dict(reviver.state_dict())

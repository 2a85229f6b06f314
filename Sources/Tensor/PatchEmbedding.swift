/// The patch embedding of a ViT, timm's `PatchEmbed`: a convolution with kernel = stride = P,
/// done as an im2col rearrangement followed by one `Linear` over all patches.
///
/// Letters: B batch, Cin image channels, H×W image, P patch, G = (H/P)·(W/P) patches in
/// row-major grid order, K = Cin·P·P. `images` (B, Cin, H, W); `columns` (B·G, K) with columns in
/// (channel, ky, kx) order, which is the flattened conv weight (D, Cin, P, P).
public enum PatchEmbedding {
    /// Copies each P×P patch of every channel into one row of `columns`.
    /// - Precondition: H and W are multiples of P.
    public static func im2col(columns: UnsafeMutablePointer<Float>, images: UnsafePointer<Float>,
                              batch b: Int, channels cin: Int, height: Int, width: Int, patch p: Int) {
        precondition(height % p == 0 && width % p == 0, "image \(height)x\(width) is not a multiple of patch \(p)")
        let gh = height / p, gw = width / p, k = cin * p * p
        ParallelRows.forEach(count: b * gh, minimumChunk: 4) { _, rows in
            for row in rows {
                let n = row / gh, gy = row % gh
                for gx in 0..<gw {
                    let dst = columns + ((n * gh + gy) * gw + gx) * k
                    for ch in 0..<cin {
                        for ky in 0..<p {
                            let src = images + ((n * cin + ch) * height + gy * p + ky) * width + gx * p
                            (dst + (ch * p + ky) * p).update(from: src, count: p)
                        }
                    }
                }
            }
        }
    }
}

// The token-bitmask apply kernel of xgr (see src/cuda/mod.rs and ARCHITECTURE.md, Apply).
//
// For each selected logits row and each column j < cols: if j >= masked_cols, or bit j of the
// row's bitmask is 0, logits[row, j] = -inf (written as the dtype's bit pattern). Nothing else is
// touched. Built ahead to PTX (src/cuda/kernel.ptx) by scripts/build-ptx.sh with NVRTC; no
// headers are included, so NVRTC needs nothing but itself.
//
// Work split: a thread handles one chunk of 16 bytes of a row (4 f32 or 8 f16/bf16 elements);
// the chunk's bits are a contiguous field of one bitmask word. blockIdx.y strides over the
// selected rows, blockIdx.x * blockDim.x + threadIdx.x over the chunks of a row, so a warp's
// stores are contiguous. All offsets are 64-bit.
//
// VEC (the caller checks that the base pointer and the row stride in bytes are multiples of
// 16): a chunk whose bits are all 0 is one 16-byte store. Otherwise (and for a row's last,
// partial chunk) masked elements are stored one by one. A chunk whose bits are all 1 costs one
// bitmask load and no store.

struct alignas(16) xgr_u4 {
    unsigned int x, y, z, w;
};

template <typename T, int CHUNK, bool VEC>
__device__ __forceinline__ void xgr_apply(
    T* __restrict__ logits,
    const int* __restrict__ bitmask,
    const int* __restrict__ indices,
    long long num_rows,
    long long num_selected,
    long long row_stride,
    long long cols,
    long long masked_cols,
    long long bitmask_row_stride,
    T neg_inf)
{
    const long long chunks = (cols + CHUNK - 1) / CHUNK;
    const long long chunk_step = (long long)gridDim.x * blockDim.x;
    const unsigned int full = (CHUNK == 32) ? 0xffffffffu : ((1u << CHUNK) - 1u);
    for (long long s = blockIdx.y; s < num_selected; s += gridDim.y) {
        long long row = s;
        if (indices != nullptr) {
            row = indices[s];
            // Out-of-range indices cannot be reported from the device: they are skipped.
            if (row < 0 || row >= num_rows) {
                continue;
            }
        }
        T* __restrict__ lrow = logits + row * row_stride;
        const int* __restrict__ brow = bitmask + row * bitmask_row_stride;
        for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < chunks;
             c += chunk_step) {
            const long long col = c * CHUNK;
            unsigned int bits = 0;
            if (col < masked_cols) {
                const unsigned int word = (unsigned int)brow[col >> 5];
                bits = (word >> (col & 31)) & full;
                const long long valid = masked_cols - col;
                if (valid < CHUNK) {
                    bits &= (1u << valid) - 1u;
                }
            }
            const bool whole = col + CHUNK <= cols;
            if (whole && bits == full) {
                continue;
            }
            T* p = lrow + col;
            if (VEC && whole && bits == 0) {
                xgr_u4 v;
                unsigned int pat;
                if (sizeof(T) == 4) {
                    pat = (unsigned int)neg_inf;
                } else {
                    pat = (unsigned int)neg_inf | ((unsigned int)neg_inf << 16);
                }
                v.x = pat;
                v.y = pat;
                v.z = pat;
                v.w = pat;
                *reinterpret_cast<xgr_u4*>(p) = v;
                continue;
            }
            const long long n = whole ? CHUNK : cols - col;
#pragma unroll
            for (int k = 0; k < CHUNK; ++k) {
                if (k < n && ((bits >> k) & 1u) == 0) {
                    p[k] = neg_inf;
                }
            }
        }
    }
}

#define XGR_KERNEL(NAME, T, CHUNK, VEC)                                                        \
    extern "C" __global__ void __launch_bounds__(256) NAME(                                    \
        T* __restrict__ logits, const int* __restrict__ bitmask,                               \
        const int* __restrict__ indices, long long num_rows, long long num_selected,           \
        long long row_stride, long long cols, long long masked_cols,                           \
        long long bitmask_row_stride, unsigned int neg_inf)                                    \
    {                                                                                          \
        xgr_apply<T, CHUNK, VEC>(logits, bitmask, indices, num_rows, num_selected, row_stride,  \
                                 cols, masked_cols, bitmask_row_stride, (T)neg_inf);           \
    }

// 4-byte elements (f32 as its bit pattern): 4 per 16-byte chunk.
XGR_KERNEL(xgr_apply_bitmask_b32_vec, unsigned int, 4, true)
XGR_KERNEL(xgr_apply_bitmask_b32_scalar, unsigned int, 4, false)
// 2-byte elements (f16, bf16 as bit patterns): 8 per 16-byte chunk.
XGR_KERNEL(xgr_apply_bitmask_b16_vec, unsigned short, 8, true)
XGR_KERNEL(xgr_apply_bitmask_b16_scalar, unsigned short, 8, false)

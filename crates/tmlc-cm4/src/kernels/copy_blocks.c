/* tmlc_copy_blocks: outer blocks of block bytes from x (contiguous) to y,
 * dst_stride bytes apart (one operand of a concat). */
static void tmlc_copy_blocks(uint8_t *y, int32_t dst_stride, const uint8_t *x, int32_t block,
                             int32_t outer) {
    for (int32_t o = 0; o < outer; o++) memcpy(y + (size_t)o * (size_t)dst_stride, x + (size_t)o * (size_t)block, (size_t)block);
}

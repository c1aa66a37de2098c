/* marker.c - draws and reads the capture-time marker of color frames; the
 * reader matches web/marker.js. */
#include "robot/marker.h"

int marker_block_size(int width)
{
    int b = width / 40;
    return b < 4 ? 4 : b;
}

void marker_stamp_rgb(uint8_t *rgb, int width, int height, size_t stride, uint32_t ms)
{
    int bs = marker_block_size(width);
    int rows = bs < height ? bs : height;
    for (int k = 0; k < MARKER_BLOCKS; k++) {
        uint8_t v;
        if (k < 2)
            v = k == 0 ? 255 : 0;
        else
            v = (ms >> (MARKER_BITS - 1 - (k - 2))) & 1u ? 255 : 0;
        /* A narrow image gets the blocks that fit: the reader then says "no marker". */
        for (int y = 0; y < rows; y++) {
            uint8_t *row = rgb + (size_t)y * stride;
            for (int x = k * bs; x < (k + 1) * bs && x < width; x++)
                row[3 * x] = row[3 * x + 1] = row[3 * x + 2] = v;
        }
    }
}

/* Mean luma of the centre half of block k; bpp 3 reads RGB, 1 reads luma. */
static double marker_block_luma(const uint8_t *img, size_t stride, int bpp, int bs, int k)
{
    int q = bs >> 2 > 1 ? bs >> 2 : 1;
    double sum = 0;
    int n = 0;
    for (int y = q; y < bs - q; y++) {
        const uint8_t *row = img + (size_t)y * stride;
        for (int x = k * bs + q; x < (k + 1) * bs - q; x++) {
            const uint8_t *p = row + (size_t)x * bpp;
            sum += bpp == 3 ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
            n++;
        }
    }
    return n ? sum / n : 0;
}

/* The start pattern must be clearly white then clearly black (margins that
 * survive limited-range video), and bits split at the pattern's midpoint. */
static bool marker_read(const uint8_t *img, int width, int height, size_t stride, int bpp,
                        uint32_t *ms)
{
    int bs = marker_block_size(width);
    if (!img || width < MARKER_BLOCKS * bs || height < bs)
        return false;
    double white = marker_block_luma(img, stride, bpp, bs, 0);
    double black = marker_block_luma(img, stride, bpp, bs, 1);
    if (!(white > 160 && black < 96))
        return false;
    double threshold = (white + black) / 2;
    uint32_t v = 0;
    for (int i = 0; i < MARKER_BITS; i++)
        v = (v << 1) | (marker_block_luma(img, stride, bpp, bs, 2 + i) > threshold ? 1u : 0u);
    *ms = v;
    return true;
}

bool marker_read_rgb(const uint8_t *rgb, int width, int height, size_t stride, uint32_t *ms)
{
    return marker_read(rgb, width, height, stride, 3, ms);
}

bool marker_read_luma(const uint8_t *y, int width, int height, size_t stride, uint32_t *ms)
{
    return marker_read(y, width, height, stride, 1, ms);
}

import { totalmem } from 'node:os';
import { IsBoolean, IsInt, IsString, Max, Min } from 'class-validator';

/** Image intake limits and the URL fetch policy (API process). */
export class ImageSettings {
  /** Largest accepted image, whatever the transport (multipart file, decoded base64). */
  @IsInt()
  @Min(1024)
  @Max(1024 * 1024 * 1024)
  MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  MAX_IMAGE_PIXELS = 50_000_000;

  @IsInt()
  @Min(1)
  @Max(100_000)
  MAX_IMAGE_FRAMES = 64;

  @IsBoolean()
  URL_FETCH_ENABLED = true;

  @IsInt()
  @Min(100)
  @Max(120_000)
  URL_FETCH_TIMEOUT_MS = 5000;

  @IsInt()
  @Min(1024)
  @Max(1024 * 1024 * 1024)
  URL_FETCH_MAX_BYTES = 10 * 1024 * 1024;

  @IsInt()
  @Min(0)
  @Max(10)
  URL_FETCH_MAX_REDIRECTS = 3;

  /** Comma-separated hosts (exact, or `.example.com` for subdomains) or CIDRs. */
  @IsString()
  URL_FETCH_ALLOWLIST = '';

  @IsString()
  URL_FETCH_DENYLIST = '';

  /**
   * Memory for concurrent image decodes, in MB (decodes are admitted by their estimated peak memory,
   * from the header). 0: 60% of the container's memory limit (cgroup), or 512 MB without a limit.
   */
  @IsInt()
  @Min(0)
  @Max(1024 * 1024)
  DECODE_MEMORY_BUDGET_MB = 0;

  /** How long a request waits for decode memory before a 503 with Retry-After. */
  @IsInt()
  @Min(0)
  @Max(600_000)
  DECODE_ADMISSION_TIMEOUT_MS = 10_000;

  /** The decode budget in bytes (DECODE_MEMORY_BUDGET_MB, or derived from the container's limit). */
  get decodeMemoryBudgetBytes(): number {
    const mb = 1024 * 1024;
    if (this.DECODE_MEMORY_BUDGET_MB > 0) return this.DECODE_MEMORY_BUDGET_MB * mb;
    const limit = process.constrainedMemory();
    const constrained = limit > 0 && limit < totalmem();
    return constrained ? Math.floor((limit * 0.6) / mb) * mb : 512 * mb;
  }

  /**
   * Body limit for JSON requests: `image_base64` inflates the image by 4/3, plus room for the other
   * fields. Fastify's bodyLimit should be this, not MAX_UPLOAD_BYTES, or a valid base64 image near the
   * limit would be refused by the transport with a less precise message.
   */
  get maxJsonBodyBytes(): number {
    return Math.ceil(this.MAX_UPLOAD_BYTES / 3) * 4 + 64 * 1024;
  }

  /**
   * Largest multipart/form-data body: the largest upload plus room for the option fields (4 KiB each at
   * most) and the parts' headers. The form reader refuses a file over MAX_UPLOAD_BYTES with its own 413.
   */
  get maxMultipartBodyBytes(): number {
    return this.MAX_UPLOAD_BYTES + 128 * 1024;
  }
}

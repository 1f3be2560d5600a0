/**
 * image: reading uploads (multipart), base64 and URLs (SSRF-safe), format and size limits, and
 * preparing images for the model (sha256 of the original bytes, decoding with sharp).
 */
import { Module } from '@nestjs/common';
import { provideSettings } from '../config/provide-settings';
import { ImageIntake } from './image-intake.service';
import { ImageSettings } from './image.settings';

@Module({
  providers: [provideSettings(ImageSettings), ImageIntake],
  exports: [ImageIntake, ImageSettings],
})
export class ImageModule {}

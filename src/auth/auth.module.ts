/**
 * auth: Bearer JWT verification (passport-jwt) with the key type pinning the algorithm, scopes, and the
 * caller's subject. Routes use @Auth(...scopes) and @CurrentSubject() from src/auth/index.ts. Global, so
 * the guards resolve in any feature module.
 */
import { Global, Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { provideSettings } from '../config/provide-settings';
import { AuthSettings } from './auth.settings';
import { JwtAuthGuard } from './jwt-auth.guard';
import { JwtStrategy } from './jwt.strategy';
import { ScopesGuard } from './scopes.guard';

@Global()
@Module({
  imports: [PassportModule.register({ session: false })],
  providers: [provideSettings(AuthSettings), JwtStrategy, JwtAuthGuard, ScopesGuard],
  exports: [AuthSettings, PassportModule, JwtStrategy, JwtAuthGuard, ScopesGuard],
})
export class AuthModule {}

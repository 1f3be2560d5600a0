export { Auth, CurrentSubject, BEARER_SCHEME } from './auth.decorators';
export { AuthModule } from './auth.module';
export { AuthSettings } from './auth.settings';
export type { AuthenticatedSubject } from './authenticated-subject';
export { JwtAuthGuard } from './jwt-auth.guard';
export { ScopesGuard } from './scopes.guard';

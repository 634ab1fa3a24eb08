import { ApiProperty } from '@nestjs/swagger';
import { Matches, MaxLength } from 'class-validator';
import { PACKAGE_NAME_PATTERN } from './app.dto.js';

/** User ids are emails; anything with control characters, spaces, slashes or `$` is refused, and so are the object-prototype names. */
export const USER_ID_PATTERN = /^(?!.*__proto__)(?!(?:constructor|prototype)$)[^\s\p{Cc}/\\$]{1,320}$/u;

export class UserParams {
  @ApiProperty({ example: 'alice@example.com' })
  @MaxLength(320)
  @Matches(USER_ID_PATTERN, { message: 'userId is not a valid user id' })
  userId!: string;
}

export class UserAppParams extends UserParams {
  @ApiProperty({ example: 'com.example.notes' })
  @Matches(PACKAGE_NAME_PATTERN, { message: 'packageName is not a valid package name' })
  packageName!: string;
}

export class TokenView {
  @ApiProperty() coreToken!: string;
  @ApiProperty({ description: 'When the token expires (CORE_TOKEN_TTL_SECONDS after it was minted)' })
  expiresAt!: string;
}

export class RevokedTokensView {
  @ApiProperty() userId!: string;
  @ApiProperty({ description: "The user's minimum token version now: tokens minted before this time (ms) are refused" })
  tokenVersion!: number;
  @ApiProperty({ description: 'Every core token of the user minted before this instant is refused from now on' })
  revokedBefore!: string;
}

export class InstalledAppView {
  @ApiProperty() packageName!: string;
  @ApiProperty() installedDate!: Date;
}

export class UserView {
  @ApiProperty() userId!: string;
  @ApiProperty({ type: [InstalledAppView] }) installedApps!: InstalledAppView[];
  @ApiProperty({ type: [String] }) runningApps!: string[];
  @ApiProperty({ type: 'array', items: { type: 'object' } }) appSettings!: unknown[];
  @ApiProperty({ type: 'object', additionalProperties: true, description: "the phone's MentraOS settings" })
  userSettings!: Record<string, unknown>;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;
}

import { Body, Controller, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PACKAGE_NAME_PATTERN } from '../admin/dto/app.dto.js';
import { CloudError } from '../common/cloud-error.js';
import { safeEqual, sha256Hex } from '../common/crypto.util.js';
import { APP_REPOSITORY, type AppRepository } from '../persistence/persistence.types.js';
import { AppMessagingService, type AppUser } from './app-messaging.service.js';

export class DiscoverUsersDto {
  @ApiProperty() @Matches(PACKAGE_NAME_PATTERN) packageName!: string;
  @ApiProperty() @IsString() @MaxLength(320) userId!: string;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() includeUserProfiles?: boolean;
}

class DiscoverUsersView {
  @ApiProperty({ type: 'array', items: { type: 'object' } }) users!: AppUser[];
  @ApiProperty() totalUsers!: number;
  @ApiProperty() timestamp!: string;
}

/** `session.discoverAppUsers(cloudUrl)`: the other users running this package, for the app's own key. */
@ApiTags('sdk: app communication')
@ApiBearerAuth()
@Controller()
export class AppMessagingController {
  constructor(
    private readonly messaging: AppMessagingService,
    @Inject(APP_REPOSITORY) private readonly apps: AppRepository,
  ) {}

  @Post(['api/app-communication/discover-users', 'api/tpa-communication/discover-users'])
  @HttpCode(200)
  @ApiOperation({ summary: 'Other users currently running the calling package (Authorization: Bearer <raw API key>)' })
  @ApiOkResponse({ type: DiscoverUsersView })
  async discover(
    @Headers('authorization') authorization: string | undefined,
    @Body() dto: DiscoverUsersDto,
  ): Promise<DiscoverUsersView> {
    const key = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
    const app = await this.apps.findByPackageName(dto.packageName);
    if (!key || !app || !safeEqual(sha256Hex(key), app.hashedApiKey))
      throw new CloudError(
        'INVALID_API_KEY',
        'A valid API key of this package is required (Authorization: Bearer <apiKey>)',
      );
    const users = await this.messaging.usersRunningEverywhere(dto.packageName, dto.userId.toLowerCase());
    return { users, totalUsers: users.length, timestamp: new Date().toISOString() };
  }
}

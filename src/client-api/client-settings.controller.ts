import { Body, Controller, Get, HttpCode, Post, Put, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { UnsafeKeysInterceptor } from '../admin/unsafe-keys.interceptor.js';
import { CoreUser, CoreUserGuard } from '../auth/core-user.guard.js';
import { UserSettingsBody, UserSettingsView } from './client-api.dto.js';
import { ClientSettingsService } from './client-settings.service.js';

/** The user's MentraOS settings, as the phone app reads and writes them. */
@ApiTags('client: phone app')
@ApiBearerAuth()
@UseGuards(CoreUserGuard)
@UseInterceptors(UnsafeKeysInterceptor)
@Controller('api/client/user/settings')
export class ClientSettingsController {
  constructor(private readonly settings: ClientSettingsService) {}

  @Get()
  @ApiOperation({ summary: "The user's settings: {success, data: {settings}} (snake_case keys)" })
  @ApiOkResponse({ type: UserSettingsView })
  async read(@CoreUser() userId: string): Promise<UserSettingsView> {
    return { success: true, data: { settings: await this.settings.read(userId) }, timestamp: new Date().toISOString() };
  }

  @Put()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Merge {settings: {key: value}} (null removes a key): stored, default_wearable sets the device model until the glasses report theirs, and a change apps see goes to every running app as augmentos_settings_update (SDK settings.onMentraosSettingChange)',
  })
  @ApiOkResponse({ type: UserSettingsView })
  put(@CoreUser() userId: string, @Body() body: UserSettingsBody): Promise<UserSettingsView> {
    return this.update(userId, body);
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Same as PUT (the phone app posts)' })
  @ApiOkResponse({ type: UserSettingsView })
  post(@CoreUser() userId: string, @Body() body: UserSettingsBody): Promise<UserSettingsView> {
    return this.update(userId, body);
  }

  private async update(userId: string, body: UserSettingsBody): Promise<UserSettingsView> {
    const settings = await this.settings.update(userId, body.settings);
    return { success: true, data: { settings }, timestamp: new Date().toISOString() };
  }
}
